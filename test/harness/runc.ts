/** Debian's runc (a peer) running a bundle, to prove a generated config.json is a real one. */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tempDir } from './tmp.js';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `runc run` of `bundle` under a fresh state dir and id (or `id`), stdin empty; waits for it to exit. */
export function runcRun(bundle: string, id = `oci-test-${randomBytes(4).toString('hex')}`): RunResult {
  const state = tempDir('runc');
  try {
    const result = spawnSync('runc', ['--root', state.dir, 'run', '--bundle', bundle, id], { encoding: 'utf8', input: '', timeout: 60_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr || String(result.error ?? '') };
  } finally {
    spawnSync('runc', ['--root', state.dir, 'delete', '--force', id]);
    state.remove();
  }
}
