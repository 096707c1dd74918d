import { containerCommand } from '../runtime.js';

/** runc's options, accepted so that the answer is the one that matters: not supported. */
const hidden = (type: 'string' | 'boolean') => ({ type, describe: '', hidden: true }) as const;

export default containerCommand((runtime, id) => runtime.checkpoint(id), {
  options: {
    'image-path': hidden('string'),
    'work-path': hidden('string'),
    'parent-path': hidden('string'),
    'leave-running': hidden('boolean'),
    'tcp-established': hidden('boolean'),
    'ext-unix-sk': hidden('boolean'),
    'shell-job': hidden('boolean'),
    'file-locks': hidden('boolean'),
    'pre-dump': hidden('boolean'),
    'manage-cgroups-mode': hidden('string'),
  },
});
