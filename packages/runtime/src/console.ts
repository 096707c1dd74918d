/**
 * The socket a process's terminal master is sent over (process.terminal; the helper's `console`
 * op sends it): a connection to the caller's --console-socket, as engines give, or, for a
 * foreground `run` or `exec`, a socketpair whose other end this process keeps to receive the
 * master and proxy it.
 */
import { closeSync } from 'node:fs';
import { requireAddon } from '@oci/native';
import { invalid, RuntimeError } from './errors.js';
import { connectUnix } from './socket.js';

export interface ConsoleSocket {
  /** Goes to the helper. */
  theirs: number;
  /** Receives the master; only when no --console-socket was given. */
  ours?: number;
}

export interface ConsoleOptions {
  /** A listening unix socket to send the master to. */
  consoleSocket?: string;
  /** Without a console socket, receive the master here (foreground) rather than refuse. */
  receive?: boolean;
}

export function openConsoleSocket(terminal: boolean, { consoleSocket, receive }: ConsoleOptions): ConsoleSocket | undefined {
  if (!terminal) {
    if (consoleSocket) throw invalid('--console-socket needs process.terminal to be true');
    return undefined;
  }
  if (!consoleSocket) {
    if (!receive) throw invalid('process.terminal is true: give a --console-socket to receive the terminal, or set terminal to false');
    const [ours, theirs] = requireAddon().socketpair();
    return { ours, theirs };
  }
  try {
    return { theirs: connectUnix(consoleSocket) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ECONNREFUSED' ? 'nothing listens on it' : code === 'ENOENT' ? 'no such socket' : code === 'ENOTSOCK' ? 'not a socket' : undefined;
    throw new RuntimeError('EINVALID', `console socket ${consoleSocket}: ${why ? `${why} (${code})` : code}`, { cause: error });
  }
}

/** The master, once the helper sent it (it is queued on `ours` by then). */
export function receiveMaster(socket: ConsoleSocket): number | undefined {
  return socket.ours === undefined ? undefined : requireAddon().receiveFd(socket.ours);
}

export function closeConsoleSocket(socket: ConsoleSocket | undefined): void {
  if (!socket) return;
  closeSync(socket.theirs);
  if (socket.ours !== undefined) closeSync(socket.ours);
}
