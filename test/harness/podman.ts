/**
 * A private podman (Debian's 4.3, with conmon) for engine tests: containers.conf, storage.conf
 * and registries.conf under a temp dir, reached through CONTAINERS_CONF,
 * CONTAINERS_STORAGE_CONF and CONTAINERS_REGISTRIES_CONF, so that storage, run state, locks,
 * events and networks all live there. The cgroupfs manager, the file events logger, vfs storage,
 * the loopback test registry insecure, and default ulimits this VM can grant (it lacks
 * CAP_SYS_RESOURCE, so podman's 1048576 fails). `runOptions(runtime)` adds what every
 * container needs: the runtime, no network (podman's default one adds iptables chains to the
 * host), and a cgroup parent of its own.
 *
 * `stop()` removes every container through podman, then by force whatever is left (conmon,
 * container processes, mounts, cgroups); the same forced clean-up runs when the test process
 * exits without calling `stop()`.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { killProcesses, killProcessesUsing, removeCgroup, unmountUnder } from './host.js';
import { type Outcome, type RunOptions, run, runOk } from './run.js';
import { tempDir } from './tmp.js';

export interface Podman {
  /** The temp dir holding everything this podman writes. */
  readonly dir: string;
  /** The environment that points podman at this instance's configuration. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs `podman ARGS` with this instance's configuration. */
  podman(args: readonly string[], options?: RunOptions): Promise<Outcome>;
  pull(reference: string): Promise<void>;
  /** Options for `podman run`/`create`: the runtime, `--network none`, this instance's cgroup parent. */
  runOptions(runtime: string): string[];
  stop(): Promise<void>;
}

const live = new Set<() => void>();
process.on('exit', () => {
  for (const cleanUp of live) cleanUp();
});

export interface PodmanOptions {
  /** host:port of registries to reach over plain http (or HTTPS without checking its certificate). */
  insecureRegistries?: readonly string[];
  /** Where a short name (`busybox`) is looked for; by default it must be a full reference. */
  searchRegistries?: readonly string[];
  /** Storage driver: vfs (default) needs nothing from the host; overlay is what users run. */
  storageDriver?: 'vfs' | 'overlay';
  /**
   * Base names of runtimes that take `--log-format=json` (podman passes it, and reads errors
   * from the runtime's log, only for runtimes so named; its default list holds runc and crun).
   */
  jsonRuntimes?: readonly string[];
}

export function startPodman(options: PodmanOptions = {}): Podman {
  const { dir } = tempDir('podman');
  const cgroupParent = `/oci-test-podman-${randomBytes(4).toString('hex')}`;
  const at = (...parts: string[]) => path.join(dir, ...parts);
  for (const sub of ['tmp', 'networks']) mkdirSync(at(sub));
  const toml = (value: unknown) => JSON.stringify(value);

  writeFileSync(
    at('containers.conf'),
    [
      '[containers]',
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      'log_driver = "k8s-file"',
      'netns = "none"',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = ${toml(at('events', 'events.log'))}`,
      'lock_type = "file"',
      `tmp_dir = ${toml(at('tmp'))}`,
      `static_dir = ${toml(at('storage', 'libpod'))}`,
      `volume_path = ${toml(at('storage', 'volumes'))}`,
      `runtime_supports_json = ${toml(['crun', 'runc', 'kata', 'runsc', 'krun', ...(options.jsonRuntimes ?? [])])}`,
      '[network]',
      `network_config_dir = ${toml(at('networks'))}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    at('storage.conf'),
    ['[storage]', `driver = ${toml(options.storageDriver ?? 'vfs')}`, `graphroot = ${toml(at('storage'))}`, `runroot = ${toml(at('run'))}`, ''].join('\n'),
  );
  writeFileSync(
    at('registries.conf'),
    [
      `unqualified-search-registries = ${toml(options.searchRegistries ?? [])}`,
      ...(options.insecureRegistries ?? []).flatMap((host) => ['[[registry]]', `location = ${toml(host)}`, 'insecure = true']),
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_CONF: at('containers.conf'),
    CONTAINERS_STORAGE_CONF: at('storage.conf'),
    CONTAINERS_REGISTRIES_CONF: at('registries.conf'),
  };
  const podman = (args: readonly string[], runOptions: RunOptions = {}) => run('podman', args, { env, ...runOptions });

  // podman never passes --root: each runtime keeps its containers' state in its default root
  // (/run/runc, /run/oci), outside `dir`. A forced clean-up asks each runtime used to delete them.
  const runtimes = new Set<string>();
  let cleanedUp = false;
  const forceCleanUp = () => {
    if (cleanedUp) return;
    cleanedUp = true;
    live.delete(forceCleanUp);
    // conmon and podman's exit command (`podman … container cleanup`) name paths in `dir`.
    killProcesses((argv) => argv.some((arg) => arg.includes(dir)));
    killProcessesUsing(dir);
    for (const id of containerIds(at('storage'))) {
      for (const runtime of runtimes) spawnSync(runtime, ['delete', '--force', id], { stdio: 'ignore', timeout: 10_000 });
    }
    removeCgroup(cgroupParent);
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  };
  live.add(forceCleanUp);

  return {
    dir,
    env,
    podman,
    async pull(reference) {
      await runOk('podman', ['pull', '--quiet', reference], { env, timeout: 120_000 });
    },
    runOptions(runtime) {
      runtimes.add(runtime);
      return ['--runtime', runtime, '--network', 'none', '--cgroup-parent', cgroupParent];
    },
    async stop() {
      try {
        await podman(['rm', '--all', '--force', '--time', '0'], { timeout: 60_000 });
      } finally {
        forceCleanUp();
      }
    },
  };
}

/** Ids of the containers podman's storage holds (`<driver>-containers/<id>` under the graph root). */
function containerIds(graphRoot: string): string[] {
  if (!existsSync(graphRoot)) return [];
  return readdirSync(graphRoot)
    .filter((entry) => entry.endsWith('-containers'))
    .flatMap((entry) => readdirSync(path.join(graphRoot, entry)).filter((id) => /^[0-9a-f]{64}$/.test(id)));
}
