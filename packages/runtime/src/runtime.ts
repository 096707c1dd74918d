/**
 * The runc-compatible lifecycle: create, start, state, kill, delete, list. Node never enters the
 * container: every namespace and mount step runs in the native helper, and after `create`
 * returns no Node process needs to stay alive (the container's first process waits on its
 * start socket; its state is on disk and its status is read from the system).
 */
import { closeSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RUNTIME_SPEC_VERSION, type Hooks, type Resources, type Spec } from '@oci/specs';
import { cgroupPids, makeCgroup, planCgroup, removeCgroup, type CgroupRecord, type CreatedCgroup, type PlannedCgroup } from './cgroups/cgroup.js';
import { freeze, isFrozen, thaw } from './cgroups/freezer.js';
import { readStats, type ContainerStats } from './cgroups/stats.js';
import { updateCgroup } from './cgroups/update.js';
import { runtimeCaller } from './caller.js';
import { checkProcess, checkResources, loadBundle } from './config.js';
import { closeConsoleSocket, openConsoleSocket, receiveMaster, type ConsoleSocket } from './console.js';
import { invalid, notRunning, RuntimeError } from './errors.js';
import { containerEvents, type ContainerEvent } from './events.js';
import { withChanges, type ExecOptions } from './exec.js';
import { exitStatus, inForeground } from './foreground.js';
import { fdLayout, spawnHelper, type WaitingHelper } from './helper.js';
import { runHooks, runHooksWarning } from './hooks.js';
import { beforeHostMount, detachHostMount, type HostMount } from './host-mount.js';
import { cgroupLayout, hostFacts } from './host.js';
import { validateId } from './id.js';
import { homeOf } from './home.js';
import { ProcessHandle, type ProcessExit } from './pidfd.js';
import { CREATE_RUNTIME_SYNC, initPlan } from './plan/init.js';
import { hookState, type ContainerStateJson } from './plan/hooks.js';
import { execPlan } from './plan/exec.js';
import { deviceRules } from './plan/devices.js';
import { needsAgent, type CompiledSeccomp } from './plan/seccomp.js';
import { hasNamespace } from './plan/namespaces.js';
import { unsharedNamespaces } from './process-namespaces.js';
import { compileSeccomp } from './seccomp/compile.js';
import { parseSignal } from './signals.js';
import { connectUnix, readToEnd } from './socket.js';
import { StateStore, type Lock, type StoredState } from './state/store.js';
import { readProcessStat, statusOf, isAlive, type Status } from './state/status.js';

export interface RuntimeOptions {
  /** The state root: a directory per container (runc's --root). */
  root: string;
  /** Told about what is ignored (unknown capabilities…) and about failed poststart and poststop hooks. */
  warn?: (message: string) => void;
  /** Told about what is left out quietly (syscalls libseccomp does not know, as runc logs them). */
  debug?: (message: string) => void;
  /**
   * Go without cgroups where this process may not make them, when config.json sets no limit
   * (runc's --rootless). Default: when not running as root.
   */
  rootless?: boolean;
}

export interface CreateOptions {
  /** The bundle directory: config.json and the rootfs. */
  bundle: string;
  /** Written with the container's pid, as engines expect. */
  pidFile?: string;
  /** A listening unix socket to send the terminal's master to (process.terminal). */
  consoleSocket?: string;
  /** chroot instead of pivot_root (a rootfs on ramfs). */
  noPivot?: boolean;
  /** Keep the caller's session keyring instead of giving the container its own. */
  noNewKeyring?: boolean;
  /** This process's fds 3…3+n-1 go to the program at the same numbers. */
  preserveFds?: number;
  /** Socket-activation fds (systemd's LISTEN_FDS) passed first, announced to the program. */
  listenFds?: number;
  /** The container's stdin, stdout, stderr as fds of this process; its own 0, 1, 2 by default. */
  stdio?: readonly [number, number, number];
}

/** The state of a container, as `oci state` prints it (runtime-spec state, plus runc's extras). */
export interface ContainerState {
  ociVersion: string;
  id: string;
  status: Status;
  /** 0 once stopped. */
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

/** A container this process created: its first process is our child, so we can wait for it. */
export interface Container {
  readonly id: string;
  readonly pid: number;
  /** How the container's first process ended (resolves once it has). */
  wait(): Promise<ProcessExit>;
}

/** A process `exec` started with `detach`: it runs on, no longer ours to wait for. */
export interface DetachedProcess {
  /** Its pid on the host. */
  pid: number;
}

export interface RunOptions extends CreateOptions {
  /** Return once the program started, leaving the container running (`run -d`). */
  detach?: boolean;
  /** Leave the container, stopped, for `delete` once the program ended (`oci run --name`). */
  keep?: boolean;
}

const SIGKILL = 9;

export class Runtime {
  readonly store: StateStore;
  readonly #warn: (message: string) => void;
  readonly #debug: (message: string) => void;
  readonly #rootless: boolean;
  /** Our own children (the containers this process created), until reaped. */
  readonly #children = new Map<string, { handle: ProcessHandle; exit: Promise<ProcessExit> | undefined }>();

  constructor(options: RuntimeOptions) {
    this.store = new StateStore(path.resolve(options.root));
    this.#warn = options.warn ?? (() => {});
    this.#debug = options.debug ?? (() => {});
    this.#rootless = options.rootless ?? process.geteuid!() !== 0;
  }

  async create(id: string, options: CreateOptions): Promise<Container> {
    return this.#create(id, options);
  }

  /**
   * create, start, wait, delete: the program runs in the foreground with our stdio (or, with
   * process.terminal, a pty proxied to it), our signals are passed on, and the result is its
   * exit code (128+N when signal N killed it). It dies with this process, even one killed by
   * SIGKILL, which cannot be passed on (runc's `run` would leave it running); its state then
   * stays until deleted. With `detach` it returns 0 once started, and the program outlives us.
   */
  async run(id: string, options: RunOptions): Promise<number> {
    if (options.detach) {
      await this.create(id, options);
      await this.start(id).catch(async (error: unknown) => {
        await this.delete(id, { force: true });
        throw error;
      });
      return 0;
    }
    const container = await this.#create(id, { ...options, receiveTerminal: true, foreground: true });
    try {
      const exit = await inForeground(container.pid, container.terminal, async () => {
        await this.start(id);
        return container.wait();
      });
      return exitStatus(exit);
    } finally {
      if (!options.keep) await this.delete(id, { force: true });
    }
  }

  /**
   * Internal form of create: with `receiveTerminal`, the terminal's master comes back to us;
   * with `foreground`, the program dies with this process (a foreground `run`).
   *
   * Killed at any moment, a create leaves nothing `delete --force` cannot find: before it makes
   * anything that needs undoing (cgroups, the rootfs bind) its state directory records them
   * (creating.json), and the container's process dies with this one until state.json names it
   * (the helper's parent-death signal, released only once we answer its "ready").
   */
  async #create(id: string, options: CreateOptions & { receiveTerminal?: boolean; foreground?: boolean }): Promise<Container & { terminal?: number }> {
    validateId(id);
    const bundle = loadBundle(options.bundle);
    const proc = bundle.spec.process!;
    const caller = runtimeCaller();
    if (caller.uid !== 0 && !hasNamespace(bundle.spec, 'user'))
      throw new RuntimeError('EINVALID', 'an unprivileged user needs a user namespace mapping it to root: see `oci spec --rootless`');
    if (proc.terminal && !options.consoleSocket && options.receiveTerminal) await requireOurTerminal();
    const linux = bundle.spec.linux ?? {};
    const plannedCgroup = planCgroup(cgroupLayout(), linux.cgroupsPath ?? id, linux.resources ?? {}, deviceRules(bundle.spec));
    const lock = await this.store.reserve(id);
    let consoleSocket: ConsoleSocket | undefined;
    let seccompAgent: number | undefined;
    let helper: WaitingHelper | undefined;
    let cgroup: CreatedCgroup | undefined;
    let pid: number | undefined;
    let terminal: number | undefined;
    const state = (status: ContainerStateJson['status'], at?: number) => hookState(id, bundle.dir, bundle.spec.annotations ?? {}, status, at);
    const hostMount = hasNamespace(bundle.spec, 'mount') ? undefined : beforeHostMount(bundle.rootfs);
    const stored = (cgroupRecord: CgroupRecord): StoredState => ({
      ociVersion: RUNTIME_SPEC_VERSION,
      id,
      pid: 0,
      startTime: '',
      bundle: bundle.dir,
      rootfs: bundle.rootfs,
      created: '',
      annotations: bundle.spec.annotations ?? {},
      cgroup: cgroupRecord,
      ...(hostMount && { hostMount }),
    });
    try {
      consoleSocket = openConsoleSocket(proc.terminal ?? false, { consoleSocket: options.consoleSocket, receive: options.receiveTerminal });
      if (needsAgent(bundle.spec.linux?.seccomp)) seccompAgent = connectSeccompAgent(bundle.spec.linux!.seccomp!.listenerPath);
      const listenFds = options.listenFds ?? 0;
      const passFds = listenFds + (options.preserveFds ?? 0);
      if (listenFds > 0) proc.env = [...(proc.env ?? []), `LISTEN_FDS=${listenFds}`, 'LISTEN_PID=1'];
      // Spawned first: its exec overlaps with the cgroup and plan work below.
      helper = spawnHelper({ stdio: options.stdio ?? [0, 1, 2], passFds, console: consoleSocket?.theirs, seccompAgent });
      // Before anything needs undoing: the cgroups made next, the rootfs bind the plan makes.
      this.store.writeCreating(stored(plannedCgroup.record));
      const made = await this.#makeCgroup(id, plannedCgroup, linux.resources);
      cgroup = made;
      const plan = initPlan({
        id,
        bundle: bundle.dir,
        rootfs: bundle.rootfs,
        spec: bundle.spec,
        startSocket: this.store.startSocket(id),
        cgroup: made.record,
        cgroupMounts: made.mountSources,
        host: hostFacts(),
        caller,
        home: homeOf(bundle.rootfs, proc.user.uid),
        noPivot: options.noPivot,
        noNewKeyring: options.noNewKeyring,
        foreground: options.foreground,
        passFds,
        consoleFd: consoleSocket === undefined ? undefined : fdLayout(passFds).console,
        seccompAgentFd: seccompAgent === undefined ? undefined : fdLayout(passFds, { console: consoleSocket !== undefined }).seccompAgent,
        warn: this.#warn,
        seccomp: this.#compileSeccomp(bundle.spec),
      });
      const running = helper;
      helper = undefined;
      await running.run(plan, {
        onPid: (created) => (pid = created),
        onSync: async (name, at) => {
          if (name === CREATE_RUNTIME_SYNC) await runHooks(bundle.spec.hooks, ['prestart', 'createRuntime'], state('creating', at), bundle.dir);
        },
        // The process waits for this before it may outlive us: it is recorded first.
        onReady: (ready) => {
          const stat = readProcessStat(ready);
          if (!stat) throw new RuntimeError('ECREATE', 'the container process exited during create');
          this.store.write({ ...stored(made.record), pid: ready, startTime: stat.startTime, created: new Date().toISOString(), ...laterHooks(bundle.spec.hooks) });
        },
      });
      if (pid === undefined) throw new RuntimeError('ECREATE', 'the helper did not report the container process');
      if (consoleSocket) terminal = receiveMaster(consoleSocket);
      this.#children.set(id, { handle: ProcessHandle.open(pid)!, exit: undefined });
      if (options.pidFile) writePidFile(options.pidFile, pid);
    } catch (error) {
      await helper?.abort();
      await this.#undoCreate(id, pid, cgroup, hostMount);
      // Once the container existed, a failed create is its end: poststop hooks run (runtime.md, step 13).
      if (pid !== undefined) await runHooksWarning(bundle.spec.hooks, 'poststop', state('stopped'), bundle.dir, this.#warn);
      throw error;
    } finally {
      closeConsoleSocket(consoleSocket);
      if (seccompAgent !== undefined) closeSync(seccompAgent);
      lock.release();
    }
    return { id, pid, terminal, wait: () => this.#wait(id) };
  }

  /**
   * The container's cgroup. Rootless, where this user may not make one and config.json sets no
   * limit, the container goes without (as runc does): it then stays in ours, and what needs a
   * cgroup of its own (pause, update, stats, kill --all) says so.
   */
  async #makeCgroup(id: string, planned: PlannedCgroup, resources: Resources | undefined): Promise<CreatedCgroup> {
    try {
      return await makeCgroup(planned);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const denied = code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
      if (!this.#rootless || !denied || hasLimits(resources)) throw error;
      this.#debug(`rootless: no cgroup for ${id} (${code})`);
      return { record: { dirs: [], created: [] }, mountSources: [] };
    }
  }

  /** linux.seccomp compiled, with the state root's cache. */
  #compileSeccomp(spec: Spec): CompiledSeccomp | undefined {
    return spec.linux?.seccomp && compileSeccomp(spec.linux.seccomp, { cacheDir: this.store.seccompCacheDir(), debug: this.#debug });
  }

  /** A failed create leaves nothing: its process, cgroups, rootfs bind and state directory go. */
  async #undoCreate(id: string, pid: number | undefined, cgroup: CreatedCgroup | undefined, hostMount: HostMount | undefined): Promise<void> {
    const child = this.#children.get(id);
    this.#children.delete(id);
    const handle = child?.handle ?? (pid ? ProcessHandle.open(pid) : undefined);
    if (handle) {
      handle.signal(SIGKILL);
      await handle.wait().catch(() => {});
    }
    if (cgroup) await removeCgroup(cgroup.record);
    if (hostMount) detachHostMount(hostMount);
    this.store.remove(id);
  }

  async #wait(id: string): Promise<ProcessExit> {
    const child = this.#children.get(id);
    if (!child) throw new RuntimeError('ESTATE', `container ${id} was not created by this process, or was waited for already`);
    child.exit ??= child.handle.wait();
    return child.exit;
  }

  /** Runs the program: the container's process stops waiting and execs it. */
  async start(id: string): Promise<void> {
    validateId(id);
    const lock = await this.store.lock(id);
    try {
      const state = this.store.read(id);
      const status = statusOf(state, this.store.dir(id));
      if (status === 'stopped') throw new RuntimeError('ESTATE', 'cannot start a container that has stopped');
      if (status === 'running') throw new RuntimeError('ESTATE', 'cannot start an already running container');
      if (status !== 'created') throw new RuntimeError('ESTATE', `cannot start a container in the ${status} state`);
      const failure = await requestStart(this.store.startSocket(id));
      unlinkSync(this.store.startSocket(id));
      if (failure) throw new RuntimeError(failure.startsWith('startContainer hook #') ? 'EHOOK' : 'ESTART', failure);
      await runHooksWarning(state.hooks, 'poststart', hookState(id, state.bundle, state.annotations, 'running', state.pid), state.bundle, this.#warn);
    } finally {
      lock.release();
    }
  }

  /**
   * Starts another process in a created or running container: in its namespaces and cgroups,
   * with the process's own identity and limits, and what the container imposes on all of its
   * processes. In the foreground it resolves with how the program ended, `{ code }` or
   * `{ signal }` as `Container.wait()` does; with `detach`, with its pid once it runs.
   */
  exec(id: string, options: ExecOptions & { detach: true }): Promise<DetachedProcess>;
  exec(id: string, options: ExecOptions & { detach?: false }): Promise<ProcessExit>;
  exec(id: string, options: ExecOptions): Promise<ProcessExit | DetachedProcess>;
  async exec(id: string, options: ExecOptions): Promise<ProcessExit | DetachedProcess> {
    validateId(id);
    const lock = await this.store.lock(id);
    let started: { handle: ProcessHandle; terminal?: number };
    try {
      started = await this.#startInContainer(this.store.read(id), options);
    } finally {
      lock.release();
    }
    const { handle, terminal } = started;
    if (options.detach) {
      handle.detach();
      return { pid: handle.pid };
    }
    return inForeground(handle.pid, terminal, () => handle.wait());
  }

  async #startInContainer(state: StoredState, options: ExecOptions): Promise<{ handle: ProcessHandle; terminal?: number }> {
    const status = statusOf(state, this.store.dir(state.id));
    if (status === 'stopped') throw notRunning();
    // Not even with runc's --ignore-paused: the helper itself would freeze as it joins the cgroup.
    if (status === 'paused') throw new RuntimeError('ESTATE', 'cannot exec in a paused container: resume it first');
    const namespaces = unsharedNamespaces(state.pid);
    if (namespaces === undefined) throw notRunning();
    const { spec } = loadBundle(state.bundle);
    let proc = options.process ?? withChanges(spec.process!, options.changes ?? { args: [] });
    const problem = checkProcess(proc);
    if (problem) throw invalid(problem);
    // A terminal proxied to ours starts at our size: the program runs before the proxy does.
    if (proc.terminal && !proc.consoleSize && !options.consoleSocket && !options.detach) proc = { ...proc, consoleSize: (await import('./terminal.js')).ourSize() };
    if (proc.terminal && !options.consoleSocket && !options.detach) await requireOurTerminal();
    const passFds = options.preserveFds ?? 0;
    const consoleSocket = openConsoleSocket(proc.terminal ?? false, { consoleSocket: options.consoleSocket, receive: !options.detach });
    let seccompAgent: number | undefined;
    try {
      if (needsAgent(spec.linux?.seccomp)) seccompAgent = connectSeccompAgent(spec.linux!.seccomp!.listenerPath);
      const fds = fdLayout(passFds, { console: consoleSocket !== undefined });
      const plan = execPlan({
        id: state.id,
        bundle: state.bundle,
        spec,
        process: proc,
        container: { pid: state.pid, startTime: state.startTime },
        namespaces,
        cgroup: state.cgroup,
        host: hostFacts(),
        home: homeOf(state.rootfs, proc.user.uid),
        passFds,
        consoleFd: consoleSocket && fds.console,
        seccompAgentFd: seccompAgent === undefined ? undefined : fds.seccompAgent,
        setgroupsDenied: setgroupsDenied(state.pid),
        foreground: !options.detach,
        warn: this.#warn,
        seccomp: this.#compileSeccomp(spec),
      });
      const helper = spawnHelper({ stdio: options.stdio ?? [0, 1, 2], passFds, console: consoleSocket?.theirs, seccompAgent });
      const { pid } = await helper.run(plan, {}, 'exec');
      const handle = ProcessHandle.open(pid)!;
      try {
        const terminal = consoleSocket && receiveMaster(consoleSocket);
        if (options.pidFile) writePidFile(options.pidFile, pid);
        return { handle, terminal };
      } catch (error) {
        handle.signal(SIGKILL);
        await handle.wait();
        throw error;
      }
    } finally {
      closeConsoleSocket(consoleSocket);
      if (seccompAgent !== undefined) closeSync(seccompAgent);
    }
  }

  async state(id: string): Promise<ContainerState> {
    validateId(id);
    return this.#describe(this.store.read(id));
  }

  #describe(state: StoredState): ContainerState {
    const status = statusOf(state, this.store.dir(state.id));
    const annotations = Object.keys(state.annotations).length > 0 ? { annotations: state.annotations } : {};
    return {
      ociVersion: state.ociVersion,
      id: state.id,
      pid: status === 'stopped' ? 0 : state.pid,
      status,
      bundle: state.bundle,
      rootfs: state.rootfs,
      created: state.created,
      owner: '',
      ...annotations,
    };
  }

  async list(): Promise<ContainerState[]> {
    const states: ContainerState[] = [];
    for (const id of this.store.ids()) {
      try {
        states.push(this.#describe(this.store.read(id)));
      } catch (error) {
        if ((error as RuntimeError).code !== 'ENOTFOUND') throw error; // deleted meanwhile
      }
    }
    return states;
  }

  /** Host pids of every process in the container's cgroups (what runc's `ps` lists). */
  async ps(id: string): Promise<number[]> {
    validateId(id);
    return cgroupPids(this.store.read(id).cgroup).sort((a, b) => a - b);
  }

  /**
   * Sends a signal to the container's first process, or with `all` to every process in its
   * cgroup (which also reaches what is left after the first process died).
   */
  async kill(id: string, signal: string | number = 'SIGTERM', { all = false } = {}): Promise<void> {
    validateId(id);
    const number = parseSignal(signal);
    const state = this.store.read(id);
    if (all) return signalEveryProcess(state, number);
    const handle = openIfAlive(state);
    if (!handle) throw notRunning();
    try {
      if (!handle.signal(number)) throw notRunning();
    } finally {
      handle.close();
    }
    // A frozen process dies only once thawed (v1): SIGKILL resumes a paused container, as in runc.
    if (number === SIGKILL && isFrozen(state.cgroup.freezer)) thaw(state.cgroup.freezer!);
  }

  /** Freezes every process in the container's cgroup: `state` says paused until `resume`. */
  async pause(id: string): Promise<void> {
    await this.#withStatus(id, async (state, status) => {
      if (status === 'paused') throw new RuntimeError('ESTATE', `container ${id} is paused already`);
      if (status !== 'running' && status !== 'created') throw notRunning();
      if (!state.cgroup.freezer) throw new RuntimeError('ESTATE', 'cannot pause: this host has no cgroup freezer');
      await freeze(state.cgroup.freezer);
    });
  }

  /** Thaws a paused container. */
  async resume(id: string): Promise<void> {
    await this.#withStatus(id, async (state, status) => {
      if (status !== 'paused') throw new RuntimeError('ESTATE', 'container not paused');
      thaw(state.cgroup.freezer!);
    });
  }

  /**
   * New cgroup limits for a live container: only the fields given change (runc's `update`);
   * device rules never do.
   */
  async update(id: string, resources: Resources): Promise<void> {
    const problem = checkResources(resources);
    if (problem) throw invalid(`resources: ${problem}`);
    if (resources.devices?.length) this.#warn('update leaves device rules as they are: devices ignored');
    await this.#withStatus(id, async (state, status) => {
      if (status === 'stopped') throw notRunning();
      updateCgroup(cgroupLayout(), state.cgroup, resources);
    });
  }

  /** The container's resource usage from its cgroups, as runc's `events --stats` reports it. */
  async stats(id: string): Promise<ContainerStats> {
    const state = this.#live(id);
    return readStats(cgroupLayout(), state.cgroup);
  }

  /**
   * runc's `events`: stats every `interval` ms and an `oom` event whenever the OOM killer acts
   * in the container, until the container stops.
   */
  async *events(id: string, { interval = 5000 }: { interval?: number } = {}): AsyncGenerator<ContainerEvent> {
    if (!(interval > 0)) throw invalid('the interval must be greater than 0');
    const state = this.#live(id);
    const handle = openIfAlive(state);
    if (!handle) throw notRunningWithId(id);
    try {
      yield* containerEvents({ id, layout: cgroupLayout(), record: state.cgroup, interval, stopped: handle.exited() });
    } finally {
      handle.close();
    }
  }

  /**
   * Checkpoint and restore need CRIU, which this runtime does not drive: the container is
   * checked as runc would, then left as it is, with an error that says so.
   */
  async checkpoint(id: string): Promise<never> {
    this.#live(id);
    throw checkpointUnsupported();
  }

  async restore(id: string, { bundle }: { bundle: string }): Promise<never> {
    validateId(id);
    loadBundle(bundle);
    if (this.store.ids().includes(id)) throw new RuntimeError('EEXIST', `container ${id} already exists`);
    throw checkpointUnsupported();
  }

  /** The state of a container that has not stopped. */
  #live(id: string): StoredState {
    validateId(id);
    const state = this.store.read(id);
    if (statusOf(state, this.store.dir(id)) === 'stopped') throw notRunningWithId(id);
    return state;
  }

  /** Runs `change` holding the container's lock, with its state and status as they are now. */
  async #withStatus<T>(id: string, change: (state: StoredState, status: Status) => Promise<T>): Promise<T> {
    validateId(id);
    const lock = await this.store.lock(id);
    try {
      const state = this.store.read(id);
      return await change(state, statusOf(state, this.store.dir(id)));
    } finally {
      lock.release();
    }
  }

  /**
   * Removes a stopped container, or a created one (killing its waiting process, as runc does).
   * A running one needs `force`: it is killed first.
   */
  async delete(id: string, { force = false } = {}): Promise<void> {
    validateId(id);
    let lock: Lock;
    try {
      lock = await this.store.lock(id);
    } catch (error) {
      if (force && (error as RuntimeError).code === 'ENOTFOUND') return;
      throw error;
    }
    try {
      let state: StoredState;
      try {
        state = this.store.read(id);
      } catch (error) {
        if ((error as RuntimeError).code !== 'ENOTFOUND' || !force) throw error;
        // A create killed midway: what it recorded before making anything is undone like a
        // container's (its process, if it ever had one, died with it or is in its cgroups).
        const creating = this.store.readCreating(id);
        if (!creating) return this.store.remove(id);
        state = creating;
      }
      const status = statusOf(state, this.store.dir(id));
      if ((status === 'running' || status === 'paused') && !force)
        throw new RuntimeError('ESTATE', `cannot delete container ${id} that is not stopped: it is ${status} (use --force)`);
      await this.#stop(id, state);
      await removeCgroup(state.cgroup);
      if (state.hostMount) detachHostMount(state.hostMount);
      this.store.remove(id);
      await runHooksWarning(state.hooks, 'poststop', hookState(id, state.bundle, state.annotations, 'stopped'), state.bundle, this.#warn);
    } finally {
      lock.release();
    }
  }

  /** Kills whatever still runs in the container and waits until it has exited. */
  async #stop(id: string, state: StoredState): Promise<void> {
    const child = this.#children.get(id);
    const handle = child?.handle ?? openIfAlive(state);
    if (handle) handle.signal(SIGKILL);
    // Killed processes in a frozen v1 cgroup die only once it thaws.
    if (isFrozen(state.cgroup.freezer)) thaw(state.cgroup.freezer!);
    if (handle) {
      if (child) {
        child.exit ??= handle.wait();
        await child.exit;
        this.#children.delete(id);
      } else {
        await handle.exited();
        handle.close();
      }
    }
    // Without a pid namespace, or after the first process died, others may remain.
    for (let round = 0; cgroupPids(state.cgroup).length > 0; round++) {
      signalAll(state, SIGKILL);
      if (round > 1000) throw new RuntimeError('ESTATE', `container ${id}: processes survive SIGKILL`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
}

const checkpointUnsupported = () => new RuntimeError('EUNSUPPORTED', 'checkpoint and restore are not supported: they need CRIU, which oci does not drive');

/** runc's words for events on a stopped container. */
const notRunningWithId = (id: string) => new RuntimeError('ENOTRUNNING', `container with id ${id} is not running`);

/** A handle on the container's first process, if it is still that process and alive. */
function openIfAlive(state: StoredState): ProcessHandle | undefined {
  if (!isAlive(state)) return undefined;
  const handle = ProcessHandle.open(state.pid);
  // The pid could have been reused between the check and the open: check again, now that the
  // handle pins whatever process it names.
  if (handle && !isAlive(state)) {
    handle.close();
    return undefined;
  }
  return handle;
}

/**
 * kill --all: the cgroup is frozen while its processes are listed and signalled, so none forks
 * a child that escapes the signal (as runc does); a paused container stays paused, except that
 * SIGKILL thaws it so its processes can die.
 */
async function signalEveryProcess(state: StoredState, signal: number): Promise<void> {
  const freezer = state.cgroup.freezer;
  const paused = isFrozen(freezer);
  let froze = false;
  if (freezer && !paused && cgroupPids(state.cgroup).length > 0) {
    froze = await freeze(freezer).then(
      () => true,
      () => false, // signalled unfrozen then, as runc does when freezing fails
    );
  }
  try {
    signalAll(state, signal);
  } finally {
    if (froze || (paused && signal === SIGKILL)) thaw(freezer!);
  }
}

function signalAll(state: StoredState, signal: number): void {
  // A rootless container may have no cgroup of its own: then its first process is all we know.
  const pids = state.cgroup.dirs.length > 0 ? cgroupPids(state.cgroup) : isAlive(state) ? [state.pid] : [];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

/** Connects to the start socket; resolves with the container's error text, or '' once it exec'd. */
async function requestStart(socketPath: string): Promise<string> {
  let fd: number;
  try {
    fd = connectUnix(socketPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT') throw notRunning();
    throw error;
  }
  const text = (await readToEnd(fd)).toString('utf8').replace(/\0$/, '');
  return text.startsWith('error ') ? text.slice('error '.length) : text;
}

/**
 * A terminal proxied to ours needs one of ours, as in runc (stderr, stdout or stdin, else the
 * controlling terminal): without, the program would get a terminal that nobody reads.
 */
async function requireOurTerminal(): Promise<void> {
  const { ourTerminal } = await import('./terminal.js');
  const terminal = ourTerminal();
  if (terminal === undefined)
    throw invalid('process.terminal is true, but there is no terminal here to attach it to (stdin, stdout, stderr and /dev/tty are none): give --console-socket, or set process.terminal to false');
  terminal.close();
}

/** Whether the user namespace of the process denies setgroups (then its groups cannot be set). */
function setgroupsDenied(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, 'utf8').trim() === 'deny';
  } catch {
    return false; // gone: the exec fails on its own
  }
}

/** Whether linux.resources asks for anything a cgroup would have to enforce. */
function hasLimits(resources: Resources | undefined): boolean {
  if (!resources) return false;
  // Device rules alone are what every container gets; others are limits.
  return Object.entries(resources).some(([key, value]) => key !== 'devices' && value !== undefined && !(typeof value === 'object' && Object.keys(value).length === 0));
}

/** The hooks that run after create (start's and delete's), kept in the state. */
function laterHooks(hooks: Hooks | undefined): Pick<StoredState, 'hooks'> {
  const later = { ...(hooks?.poststart?.length && { poststart: hooks.poststart }), ...(hooks?.poststop?.length && { poststop: hooks.poststop }) };
  return Object.keys(later).length > 0 ? { hooks: later } : {};
}

/** A connection to the seccomp agent, made here on the host's side so that its path is the host's. */
function connectSeccompAgent(listenerPath: string | undefined): number {
  if (!listenerPath) throw new RuntimeError('EINVALID', 'linux.seccomp: SCMP_ACT_NOTIFY needs a listenerPath, where the seccomp agent listens');
  try {
    return connectUnix(listenerPath);
  } catch (error) {
    throw new RuntimeError('EINVALID', `seccomp agent at ${listenerPath}: ${(error as NodeJS.ErrnoException).code}`, { cause: error });
  }
}

/** Whole or absent, never half-written: engines read it as soon as create returns. */
function writePidFile(file: string, pid: number): void {
  const target = path.resolve(file);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}`);
  writeFileSync(temp, String(pid));
  renameSync(temp, target);
}
