/** Runs the real `oci` command the way a user does, as a child process. */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ociBin = fileURLToPath(new URL('../../../packages/cli/bin/oci.cjs', import.meta.url));

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function oci(args: readonly string[], options: SpawnSyncOptions = {}): Result {
  const result = spawnSync(process.execPath, [ociBin, ...args], { encoding: 'utf8', ...options });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}
