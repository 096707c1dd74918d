/**
 * Talking over a unix socket fd without Node's net module (loading it costs milliseconds on
 * every command): the event loop says when the fd is readable (the addon's onReadable), a
 * synchronous read takes what is there. Messages here are small and short-lived.
 */
import { closeSync, readSync, writeSync } from 'node:fs';
import { requireAddon } from '@oci/native';

/** Everything the peer sends until it closes its end; the fd is closed after. */
export function readToEnd(fd: number): Promise<Buffer> {
  const { onReadable } = requireAddon();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    const take = () => {
      const buffer = Buffer.allocUnsafe(4096);
      let n: number;
      try {
        n = readSync(fd, buffer, 0, buffer.length, null);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') return onReadable(fd, take);
        if (code !== 'ECONNRESET') {
          closeSync(fd);
          return reject(error);
        }
        n = 0;
      }
      if (n > 0) {
        chunks.push(buffer.subarray(0, n));
        return onReadable(fd, take);
      }
      closeSync(fd);
      resolve(Buffer.concat(chunks));
    };
    onReadable(fd, take);
  });
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
