import { defineCommand } from '../command.js';
import { openRuntime } from '../runtime.js';

export default defineCommand({
  name: 'start',
  usage: 'ID',
  options: {},
  positionals: { min: 1, max: 1 },
  completes: 'container',
  uses: ['runtime'],
  async run({ positionals }, context) {
    await (await openRuntime(context)).start(positionals[0]!);
  },
});
