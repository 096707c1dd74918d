/**
 * The layout's small files (oci-layout, index.json, manifests and configs): read and created
 * synchronously (a few small reads or writes cost less than trips through libuv's thread pool,
 * which `oci run IMAGE` otherwise starts only for them), never read past what is expected, and
 * created whole.
 */
import { closeSync, linkSync, openSync, readSync, unlinkSync, writeFileSync } from 'node:fs';
import { newId } from './lock.js';

/**
 * The file's first `limit` bytes (all of it when shorter): a blob bigger than its descriptor says
 * (another tool's, a damaged one) must not be read whole into memory to find out it is wrong.
 */
export function readAtMost(file: string, limit: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(limit);
    let filled = 0;
    while (filled < limit) {
      const bytesRead = readSync(fd, buffer, filled, limit - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates `file` with `content` unless it exists, whole: written beside it, then linked into
 * place (link(2) fails on an existing name). A store opened while another process makes it
 * must never read a half-written oci-layout or index.json.
 */
export function writeIfAbsent(file: string, content: string): void {
  const temp = `${file}.${newId()}`;
  writeFileSync(temp, content, { flag: 'wx' });
  try {
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temp);
  }
}

/** What went wrong reading a file, for a message: "missing", or the error's own words. */
export function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'missing' : error instanceof Error ? error.message : String(error);
}
