import { defineCommand } from '../command.js';
import { print } from '../print.js';
import { openRuntime } from '../runtime.js';

export default defineCommand({
  name: 'state',
  usage: 'ID',
  options: {},
  positionals: { min: 1, max: 1 },
  completes: 'container',
  uses: ['runtime'],
  async run({ positionals }, context) {
    const state = await (await openRuntime(context)).state(positionals[0]!);
    print(`${JSON.stringify(state, null, '  ')}\n`);
  },
});
