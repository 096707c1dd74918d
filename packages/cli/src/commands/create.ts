import type { CreateOptions } from '@oci/runtime';
import type { OptionValues } from '../args.js';
import { defineCommand } from '../command.js';
import { listenFds, openRuntime } from '../runtime.js';

export const createOptions = {
  bundle: { type: 'string', short: 'b', value: 'DIR', describe: 'bundle directory (default: the current directory)' },
  'pid-file': { type: 'string', value: 'FILE', describe: "write the container process's pid to FILE" },
  'console-socket': { type: 'string', value: 'PATH', describe: "unix socket to send the terminal's master to (process.terminal)" },
  'no-pivot': { type: 'boolean', describe: 'chroot instead of pivot_root (a rootfs on ramfs)' },
  'no-new-keyring': { type: 'boolean', describe: "keep the caller's session keyring instead of a new one for the container" },
  'preserve-fds': { type: 'number', value: 'N', describe: 'pass fds 3 to 3+N-1 to the program' },
} as const;

export default defineCommand({
  usage: '[options] ID',
  options: createOptions,
  positionals: { min: 1, max: 1 },
  uses: ['runtime'],
  async run({ options, positionals }, context) {
    const runtime = await openRuntime(context);
    await runtime.create(positionals[0]!, toCreateOptions(options));
  },
});

/** The runtime's options from the flags `create` and `run` share. */
export function toCreateOptions(options: OptionValues<typeof createOptions>): CreateOptions {
  return {
    bundle: options.bundle ?? '.',
    pidFile: options['pid-file'],
    consoleSocket: options['console-socket'],
    noPivot: options['no-pivot'],
    noNewKeyring: options['no-new-keyring'],
    preserveFds: options['preserve-fds'],
    listenFds: listenFds(),
  };
}
