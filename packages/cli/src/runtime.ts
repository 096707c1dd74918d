/** The runtime commands' shared pieces: the Runtime for --root, and warnings to the log. */
import type { Runtime } from '@oci/runtime';
import type { Context } from './command.js';
import { stateRoot } from './paths.js';

export async function openRuntime(context: Context): Promise<Runtime> {
  const { Runtime } = await import('@oci/runtime');
  const { rootless = 'auto' } = context.globals;
  return new Runtime({
    root: stateRoot(context.globals),
    warn: (message) => context.log.warn(message),
    debug: (message) => context.log.debug(message),
    rootless: rootless === 'auto' ? process.geteuid!() !== 0 : rootless === 'true',
  });
}

/** systemd socket activation: fds 3… handed to us are passed on, as runc does. */
export function listenFds(): number {
  const count = Number(process.env.LISTEN_FDS);
  return Number(process.env.LISTEN_PID) === process.pid && count > 0 ? count : 0;
}
