/**
 * Runs the real `oci` command the way a user does: the executable itself, as a child process.
 * That is the front door (packages/native/src/front-door), which serves the engines' hot calls
 * and hands the rest to Node; with OCI_NODE_ONLY=1 in the environment it hands every call to
 * Node, which is how a suite runs through the Node path too (nodeOnly()).
 */
import { type SpawnOptions, type SpawnSyncOptions, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The executable users put on PATH: the native front door. */
export const ociFrontDoor = fileURLToPath(new URL('../../../packages/cli/bin/oci', import.meta.url));
/**
 * The command's JS entry, which the front door hands calls to: a sh launcher too, so it runs as a
 * program or by Node, every command in Node.
 */
export const ociBin = fileURLToPath(new URL('../../../packages/cli/bin/oci.cjs', import.meta.url));

/**
 * Makes every `oci` this test process starts (directly or through an engine) take the Node path:
 * a suite's `.node.test.ts` twin calls it, then imports the suite.
 */
export function nodeOnly(): void {
  process.env.OCI_NODE_ONLY = '1';
}

/** What the front door says (OCI_NATIVE_ONLY=1, exit 125) where it would hand a call to Node. */
export const HANDED_TO_NODE = /^oci: the front door hands this call to Node: /;

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function oci(args: readonly string[], options: SpawnSyncOptions = {}): Result {
  const result = spawnSync(ociFrontDoor, args, { encoding: 'utf8', ...options });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Like `oci`, without blocking the test's event loop (needed when the test itself serves HTTP, e.g. a fault proxy). */
export function ociAsync(args: readonly string[], options: SpawnOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(ociFrontDoor, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
