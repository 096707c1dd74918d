import { defineCommand } from '../command.js';
import { openRuntime } from '../runtime.js';

export default defineCommand({
  name: 'kill',
  usage: '[options] ID [SIGNAL]',
  options: {
    all: { type: 'boolean', short: 'a', describe: "signal every process in the container's cgroup" },
  },
  positionals: { min: 1, max: 2 },
  completes: 'container',
  uses: ['runtime'],
  async run({ options, positionals }, context) {
    await (await openRuntime(context)).kill(positionals[0]!, positionals[1] ?? 'SIGTERM', { all: options.all });
  },
});
