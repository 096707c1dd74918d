import { defineCommand } from '../command.js';
import { openRuntime } from '../runtime.js';

export default defineCommand({
  name: 'delete',
  usage: '[options] ID',
  options: {
    force: { type: 'boolean', short: 'f', describe: 'kill a running container first; succeed if it does not exist' },
  },
  positionals: { min: 1, max: 1 },
  completes: 'container',
  uses: ['runtime'],
  async run({ options, positionals }, context) {
    await (await openRuntime(context)).delete(positionals[0]!, { force: options.force });
  },
});
