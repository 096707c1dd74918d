/**
 * A private containerd (Debian's 1.6) for engine tests: its own config, root, state, sockets
 * and `opt` path under a temp dir, the CRI plugin off, a namespace of its own. `ctr` talks to
 * it; `runOptions(runtime)` makes the runc v2 shim drive the given runtime with its runc root and
 * the I/O fifos inside the temp dir too.
 *
 * `stop()` takes everything down even after a failed test: tasks and containers through
 * containerd, then by force whatever is left (shims, container processes, mounts, the
 * namespace's cgroups, the shims' sockets in /run/containerd/s). The same forced clean-up runs
 * when the test process exits without calling `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { killProcesses, killProcessesUsing, removeCgroup, unmountUnder } from './host.js';
import { type Outcome, type RunOptions, run, runOk } from './run.js';
import { tempDir } from './tmp.js';

export interface Containerd {
  /** The temp dir holding everything this containerd writes. */
  readonly dir: string;
  /** Its gRPC socket. */
  readonly address: string;
  /** The containerd namespace every `ctr` call uses (unique per instance). */
  readonly namespace: string;
  /** Runs `ctr --address … --namespace … ARGS`. */
  ctr(args: readonly string[], options?: RunOptions): Promise<Outcome>;
  /** `ctr image pull --plain-http REF` (for the loopback test registry). */
  pull(reference: string): Promise<void>;
  /** Options for `ctr run` that make the shim use `runtime` and keep its files in `dir`. */
  runOptions(runtime: string): string[];
  /** Options for `ctr task exec` that keep its fifos in `dir`. */
  execOptions(): string[];
  /** Reads containerd's own log (for a failing test's message). */
  log(): string;
  stop(): Promise<void>;
}

/** The shim's socket in /run/containerd/s, as containerd 1.6 names it (runtime/v2/shim/util_unix.go). */
const shimSocket = (address: string, namespace: string, id: string) =>
  path.join(
    '/run/containerd/s',
    createHash('sha256')
      .update(path.join(address, namespace, id))
      .digest('hex'),
  );

const live = new Set<() => void>();
process.on('exit', () => {
  for (const cleanUp of live) cleanUp();
});

export async function startContainerd(): Promise<Containerd> {
  const { dir } = tempDir('containerd');
  const address = path.join(dir, 'containerd.sock');
  const namespace = `oci-test-${randomBytes(4).toString('hex')}`;
  const config = path.join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = ${JSON.stringify(path.join(dir, 'root'))}`,
      `state = ${JSON.stringify(path.join(dir, 'state'))}`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = ${JSON.stringify(address)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${address}.ttrpc`)}`,
      '[debug]',
      '  level = "info"',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${JSON.stringify(path.join(dir, 'opt'))}`,
      '',
    ].join('\n'),
  );
  for (const sub of ['fifo', 'runc', 'tmp']) mkdirSync(path.join(dir, sub));
  const logFile = path.join(dir, 'containerd.log');
  const log = createWriteStream(logFile);
  await new Promise((resolve) => log.once('open', resolve));
  // Its own session, as a daemon would have. TMPDIR: the shims make their console sockets there.
  const daemon = spawn('containerd', ['--config', config], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, TMPDIR: path.join(dir, 'tmp') },
  });
  log.close();

  const ctr = (args: readonly string[], options: RunOptions = {}) => run('ctr', ['--address', address, '--namespace', namespace, ...args], options);

  let cleanedUp = false;
  const forceCleanUp = () => {
    if (cleanedUp) return;
    cleanedUp = true;
    live.delete(forceCleanUp);
    if (daemon.exitCode === null) daemon.kill('SIGKILL');
    // Shims are started as `containerd-shim-runc-v2 -namespace NS -id ID -address ADDRESS`.
    killProcesses((argv) => argv.includes(address));
    killProcessesUsing(dir);
    removeCgroup(`/${namespace}`);
    unmountUnder(dir);
    // A shim killed above left its socket; its task's state dir names it.
    const tasks = path.join(dir, 'state', 'io.containerd.runtime.v2.task', namespace);
    for (const id of existsSync(tasks) ? readdirSync(tasks) : []) rmSync(shimSocket(address, namespace, id), { force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  live.add(forceCleanUp);

  try {
    await becomesReady(address, daemon, ctr);
  } catch (error) {
    const output = readFileSync(logFile, 'utf8');
    forceCleanUp();
    throw new Error(`${(error as Error).message}\n${output}`);
  }

  return {
    dir,
    address,
    namespace,
    ctr,
    async pull(reference) {
      await runOk('ctr', ['--address', address, '--namespace', namespace, 'image', 'pull', '--plain-http', reference], { timeout: 120_000 });
    },
    runOptions: (runtime) => ['--runc-binary', runtime, '--runc-root', path.join(dir, 'runc'), '--fifo-dir', path.join(dir, 'fifo')],
    execOptions: () => ['--fifo-dir', path.join(dir, 'fifo')],
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async stop() {
      if (cleanedUp) return;
      try {
        await removeEverything(ctr);
        if (daemon.exitCode === null) {
          const exited = new Promise((resolve) => daemon.once('exit', resolve));
          daemon.kill('SIGTERM');
          await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        }
      } finally {
        forceCleanUp();
      }
    },
  };
}

/** Tasks killed and deleted, containers deleted, through containerd: the orderly way down. */
async function removeEverything(ctr: (args: readonly string[], options?: RunOptions) => Promise<Outcome>): Promise<void> {
  const listed = await ctr(['containers', 'list', '--quiet'], { timeout: 20_000 });
  const ids = listed.stdout.split('\n').filter(Boolean);
  await Promise.all(
    ids.map(async (id) => {
      await ctr(['task', 'resume', id], { timeout: 20_000 });
      await ctr(['task', 'kill', '--all', '--signal', 'SIGKILL', id], { timeout: 20_000 });
      await ctr(['task', 'delete', '--force', id], { timeout: 20_000 });
      await ctr(['containers', 'delete', id], { timeout: 20_000 });
    }),
  );
}

async function becomesReady(address: string, daemon: ChildProcess, ctr: (args: readonly string[], options?: RunOptions) => Promise<Outcome>): Promise<void> {
  for (let i = 0; i < 200 && daemon.exitCode === null; i++) {
    if (existsSync(address) && (await ctr(['version'], { timeout: 10_000 })).status === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`containerd did not start (exit ${daemon.exitCode})`);
}
