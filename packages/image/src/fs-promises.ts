/**
 * node:fs/promises, loaded by its first use rather than with the modules that use it: it brings
 * Node's readline, dir and watcher modules (~2-4 ms of a command's start here), and a command
 * that only reads the store (`oci run IMAGE`, `oci unpack --overlay` of an unpacked image) does
 * so synchronously, never needing it.
 */
import { dirname } from 'node:path';

export const fsp = (): typeof import('node:fs/promises') => process.getBuiltinModule('node:fs/promises');

/**
 * `write()`, which makes `file`, done again after making `file`'s directory when that was
 * missing (ENOENT). For directories a store has unless another tool made its layout, or a new
 * digest algorithm is its first: a mkdir before every write would cost a trip to the thread pool.
 */
export async function inItsDirectory<T>(file: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await fsp().mkdir(dirname(file), { recursive: true });
    return write();
  }
}
