/** What a directory tree takes on disk: allocated blocks, each inode once (du's count). */
import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

export function diskUsage(dir: string): number {
  const seen = new Set<number>();
  let bytes = 0;
  const walk = (at: string) => {
    const info = lstatSync(at);
    if (info.nlink > 1 && !info.isDirectory()) {
      if (seen.has(info.ino)) return;
      seen.add(info.ino);
    }
    bytes += info.blocks * 512;
    if (info.isDirectory()) for (const name of readdirSync(at)) walk(path.join(at, name));
  };
  walk(dir);
  return bytes;
}
