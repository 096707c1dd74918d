import { defineCommand } from '../command.js';
import { openRuntime } from '../runtime.js';

/** runc's options, accepted so that the answer is the one that matters: not supported. */
const hidden = (type: 'string' | 'boolean') => ({ type, describe: '', hidden: true }) as const;

export default defineCommand({
  usage: '[options] ID',
  options: {
    bundle: { type: 'string', short: 'b', value: 'DIR', describe: 'bundle directory (default: the current directory)' },
    'image-path': hidden('string'),
    'work-path': hidden('string'),
    detach: { ...hidden('boolean'), short: 'd' },
    'pid-file': hidden('string'),
    'console-socket': hidden('string'),
    'tcp-established': hidden('boolean'),
    'ext-unix-sk': hidden('boolean'),
    'shell-job': hidden('boolean'),
    'file-locks': hidden('boolean'),
    'no-pivot': hidden('boolean'),
    'no-subreaper': hidden('boolean'),
    'manage-cgroups-mode': hidden('string'),
  },
  positionals: { min: 1, max: 1 },
  uses: ['runtime'],
  async run({ options, positionals }, context) {
    await (await openRuntime(context)).restore(positionals[0]!, { bundle: options.bundle ?? '.' });
  },
});
