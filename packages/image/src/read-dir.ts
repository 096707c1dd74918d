import { fsp } from './fs-promises.js';

/** The names in a directory; none when it is missing or is not a directory (nothing was made there yet). */
export async function readdirIfPresent(dir: string): Promise<string[]> {
  try {
    return await fsp().readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
}
