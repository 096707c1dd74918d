/** Removing trees that an unpack, a snapshot or an overlay made, whatever modes they were left with. */
import { chmodSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/**
 * Removes what a failed unpack left. Unprivileged, directories of finished layers already have
 * their final modes (0555, say), and an overlay's workdir holds one of mode 0, which rm cannot
 * enter: give them back to their owner first.
 */
export function removeTree(dir: string): void {
  try {
    // An empty directory (what a writer's lease leaves, usually) goes with one rmdir: rmSync's
    // recursive walk costs a fresh process ~1.5 ms to load.
    rmdirSync(dir);
    return;
  } catch {
    // not empty, not there, or not ours: below
  }
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
    const unlock = (at: string) => {
      chmodSync(at, 0o700);
      for (const entry of readdirSync(at, { withFileTypes: true })) if (entry.isDirectory()) unlock(path.join(at, entry.name));
    };
    unlock(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
