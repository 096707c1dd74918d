/**
 * Talking over a unix socket fd without Node's net module (loading it costs milliseconds on
 * every command): the event loop says when the fd is readable (the addon's onReadable), a
 * synchronous read takes what is there. Messages here are small and short-lived.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { requireAddon } from '@oci/native';

/**
 * What the peer sends, chunk by chunk as it arrives, until it closes its end. The fd is closed
 * after, or when the caller stops early; the caller may write to it between chunks.
 */
async function* chunks(fd: number): AsyncGenerator<Buffer> {
  const { onReadable } = requireAddon();
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(4096);
      let n: number;
      try {
        n = readSync(fd, buffer, 0, buffer.length, null);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          await new Promise<void>((resolve) => onReadable(fd, resolve));
          continue;
        }
        if (code !== 'ECONNRESET') throw error;
        n = 0;
      }
      if (n === 0) return;
      yield buffer.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** Everything the peer sends until it closes its end; the fd is closed after. */
export async function readToEnd(fd: number): Promise<Buffer> {
  const received: Buffer[] = [];
  for await (const chunk of chunks(fd)) received.push(chunk);
  return Buffer.concat(received);
}

/**
 * The NUL-terminated messages the peer sends, each as it arrives, until the peer closes its end
 * (the fd is closed after, or when the caller stops early). The caller may write to the fd
 * between messages: the helper's `sync` op waits for such an answer.
 */
export async function* readMessages(fd: number): AsyncGenerator<string> {
  let pending = Buffer.alloc(0);
  for await (const chunk of chunks(fd)) {
    pending = Buffer.concat([pending, chunk]);
    for (let end = pending.indexOf(0); end >= 0; end = pending.indexOf(0)) {
      const message = pending.subarray(0, end).toString('utf8');
      pending = pending.subarray(end + 1);
      if (message) yield message;
    }
  }
}

/** Writes all of data; false when the peer is gone (it then tells why by what it sent). */
export function writeAll(fd: number, data: Buffer): boolean {
  for (let done = 0; done < data.length; ) {
    try {
      done += writeSync(fd, data, done);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPIPE' || (error as NodeJS.ErrnoException).code === 'ECONNRESET') return false;
      throw error;
    }
  }
  return true;
}

/**
 * A connected unix stream socket to `socketPath`. A path too long for a socket address (108
 * bytes) is reached through its directory's fd.
 */
export function connectUnix(socketPath: string): number {
  const dir = Buffer.byteLength(socketPath) < 108 ? undefined : openSync(path.dirname(socketPath), 'r');
  try {
    return requireAddon().connectUnix(dir === undefined ? socketPath : `/proc/self/fd/${dir}/${path.basename(socketPath)}`);
  } finally {
    if (dir !== undefined) closeSync(dir);
  }
}
