/** A state root for runtime tests, the `oci` command bound to it, and what tests check after. */

import type { SpawnSyncOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { oci, type Result } from './cli.js';
import { tempDir } from './tmp.js';

export interface StateRoot {
  root: string;
  /** `oci --root ROOT …` */
  oci(args: readonly string[], options?: SpawnSyncOptions): Result;
  /**
   * `oci --root ROOT …` with stdout and stderr in files: for `create` and `run -d`, whose
   * container keeps the stdio it inherits open (a pipe would never see its end).
   */
  ociDetached(args: readonly string[]): Result;
  /** The container's cgroup directories, from its state (read while it exists). */
  cgroups(id: string): string[];
  exists(id: string): boolean;
  remove(): void;
}

export function stateRoot(): StateRoot {
  const { dir: root, remove } = tempDir('state');
  return {
    root,
    oci: (args, options) => oci(['--root', root, ...args], options),
    ociDetached(args) {
      const out = path.join(root, `.out-${process.pid}`);
      const err = path.join(root, `.err-${process.pid}`);
      const fds = [openSync(out, 'w'), openSync(err, 'w')];
      try {
        const { status } = oci(['--root', root, ...args], { stdio: ['ignore', fds[0]!, fds[1]!] });
        return { status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
      } finally {
        for (const fd of fds) closeSync(fd);
        rmSync(out, { force: true });
        rmSync(err, { force: true });
      }
    },
    cgroups: (id) => (JSON.parse(readFileSync(path.join(root, id, 'state.json'), 'utf8')) as { cgroup: { dirs: string[] } }).cgroup.dirs,
    exists: (id) => existsSync(path.join(root, id)),
    remove() {
      // A test that failed midway may have left containers: their processes and cgroups
      // outlive the directory unless deleted first.
      for (const id of readdirSync(root)) if (!id.startsWith('.') && !id.startsWith('@')) oci(['--root', root, 'delete', '--force', id]);
      remove();
    },
  };
}

/**
 * Polls until `check` holds (containers start asynchronously); fails after `ms`. Before failing
 * it lets pending I/O run and checks once more: a concurrent test's synchronous spawn can hold
 * this worker's event loop past the deadline, and the events that would make `check` hold (a
 * child's exit) are handled only after the timer that woke us.
 */
export async function eventually(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) {
      await new Promise((resolve) => setImmediate(resolve));
      if (check()) return;
      throw new Error('condition not met in time');
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
