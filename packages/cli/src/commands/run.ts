import { defineCommand } from '../command.js';
import { openRuntime } from '../runtime.js';
import { createOptions, toCreateOptions } from './create.js';

export default defineCommand({
  name: 'run',
  usage: '[options] [ID]',
  options: {
    ...createOptions,
    detach: { type: 'boolean', short: 'd', describe: 'return once the program started, leaving the container running' },
  },
  positionals: { min: 0, max: 1 },
  uses: ['runtime'],
  async run({ options, positionals }, context) {
    const runtime = await openRuntime(context);
    // Not node:crypto: loading it costs ~8 ms, and a taken id fails create with 'already exists'.
    const id = positionals[0] ?? `oci-${Date.now().toString(36)}${Math.random().toString(16).slice(2, 8)}`;
    return runtime.run(id, { ...toCreateOptions(options), detach: options.detach });
  },
});
