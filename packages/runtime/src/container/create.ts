/**
 * create: the container's state, cgroup and first process, which waits on its start socket.
 *
 * Killed at any moment, a create leaves nothing `delete --force` cannot find: before it makes
 * anything that needs undoing (cgroups, the rootfs bind) its state directory records them
 * (creating.json), and the container's process dies with this one until state.json names it
 * (the helper's parent-death signal, released only once we answer its "ready").
 */
import { type Hooks, RUNTIME_SPEC_VERSION } from '@oci/specs';
import { runtimeCaller } from '../caller.js';
import { type CgroupRecord, type PlannedCgroup, planCgroup, removeCgroup } from '../cgroups/cgroup.js';
import { loadBundle } from '../config.js';
import { RuntimeError } from '../errors.js';
import { homeOf } from '../home.js';
import { runHooks, runHooksWarning } from '../hooks.js';
import { cgroupLayout, hostFacts } from '../host.js';
import { beforeHostMount, detachHostMount, type HostMount } from '../host-mount.js';
import { validateId } from '../id.js';
import { type ProcessExit, ProcessHandle } from '../pidfd.js';
import { deviceRules } from '../plan/devices.js';
import { type ContainerStateJson, hookState } from '../plan/hooks.js';
import { CREATE_RUNTIME_SYNC, initPlan } from '../plan/init.js';
import { hasNamespace } from '../plan/namespaces.js';
import type { Op } from '../plan/ops.js';
import { SIGKILL } from '../signals.js';
import { readProcessStat } from '../state/status.js';
import type { StoredState } from '../state/store.js';
import { makeContainerCgroup } from './cgroup.js';
import type { RuntimeContext } from './context.js';
import { launch, requireOurTerminal } from './launch.js';

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

/** A container this process created: its first process is our child, so we can wait for it. */
export interface Container {
  readonly id: string;
  readonly pid: number;
  /** How the container's first process ended (resolves once it has). */
  wait(): Promise<ProcessExit>;
}

/** What a foreground `run` asks of create besides. */
export interface ForegroundOptions {
  /** The terminal's master comes back to us (no console socket given). */
  receiveTerminal?: boolean;
  /** The program dies with this process. */
  foreground?: boolean;
  /** Told, once the container is created, what its create did (see CreateTrace); a throw fails the create. */
  onCreated?(trace: CreateTrace): void;
}

/**
 * What a create did, for a caller that does it again without Node: the `oci` front door runs an
 * image from a recipe of these (packages/cli/src/run-recipe.ts).
 */
export interface CreateTrace {
  /** The cgroup as planned and made. */
  cgroup: PlannedCgroup;
  /** The plan the helper ran. */
  ops: readonly Op[];
  /** creating.json and state.json as written. */
  creating: StoredState;
  state: StoredState;
}

export async function create(context: RuntimeContext, id: string, options: CreateOptions & ForegroundOptions): Promise<Container & { terminal?: number }> {
  validateId(id);
  const bundle = loadBundle(options.bundle);
  const { spec } = bundle;
  const proc = spec.process!;
  const caller = runtimeCaller();
  if (caller.uid !== 0 && !hasNamespace(spec, 'user'))
    throw new RuntimeError('EINVALID', 'an unprivileged user needs a user namespace mapping it to root: see `oci spec --rootless`');
  if (proc.terminal && !options.consoleSocket && options.receiveTerminal) await requireOurTerminal();
  const linux = spec.linux ?? {};
  const plannedCgroup = planCgroup(cgroupLayout(), linux.cgroupsPath ?? id, linux.resources ?? {}, deviceRules(spec));
  const { store } = context;
  const lock = await store.reserve(id);
  let cgroup: CgroupRecord | undefined;
  let pid: number | undefined;
  const state = (status: ContainerStateJson['status'], at?: number) => hookState(id, bundle.dir, spec.annotations ?? {}, status, at);
  const hostMount = hasNamespace(spec, 'mount') ? undefined : beforeHostMount(bundle.rootfs);
  const stored = (cgroupRecord: CgroupRecord): StoredState => ({
    ociVersion: RUNTIME_SPEC_VERSION,
    id,
    pid: 0,
    startTime: '',
    bundle: bundle.dir,
    rootfs: bundle.rootfs,
    created: '',
    annotations: spec.annotations ?? {},
    cgroup: cgroupRecord,
    ...(hostMount && { hostMount }),
  });
  try {
    const listenFds = options.listenFds ?? 0;
    const passFds = listenFds + (options.preserveFds ?? 0);
    if (listenFds > 0) proc.env = [...(proc.env ?? []), `LISTEN_FDS=${listenFds}`, 'LISTEN_PID=1'];
    const launchOptions = { passFds, terminal: proc.terminal ?? false, receiveTerminal: options.receiveTerminal, seccomp: linux.seccomp };
    const { handle, terminal } = await launch(context, options, launchOptions, async (launching) => {
      // Before anything needs undoing: the cgroups made next, the rootfs bind the plan makes.
      store.writeCreating(stored(plannedCgroup.record));
      const made = await makeContainerCgroup(context, id, plannedCgroup, linux.resources);
      cgroup = made.record;
      const ops = initPlan({
        id,
        bundle: bundle.dir,
        rootfs: bundle.rootfs,
        spec,
        startSocket: store.startSocket(id),
        cgroup: made.record,
        cgroupMounts: made.mountSources,
        host: hostFacts(),
        caller,
        home: homeOf(bundle.rootfs, proc.user.uid),
        noPivot: options.noPivot,
        noNewKeyring: options.noNewKeyring,
        foreground: options.foreground,
        passFds,
        ...launching,
        warn: context.warn,
      });
      const onSync = async (name: string, at: number) => {
        if (name === CREATE_RUNTIME_SYNC) await runHooks(spec.hooks, ['prestart', 'createRuntime'], state('creating', at), bundle.dir);
      };
      // The process waits for this before it may outlive us: it is recorded first.
      const onReady = (ready: number) => {
        const stat = readProcessStat(ready);
        if (!stat) throw new RuntimeError('ECREATE', 'the container process exited during create');
        const state = { ...stored(made.record), pid: ready, startTime: stat.startTime, created: new Date().toISOString(), ...laterHooks(spec.hooks) };
        store.write(state);
        options.onCreated?.({ cgroup: plannedCgroup, ops, creating: stored(plannedCgroup.record), state });
      };
      return { ops, until: 'ready', callbacks: { onPid: (created: number) => (pid = created), onSync, onReady } };
    });
    context.children.add(id, handle);
    return { id, pid: handle.pid, terminal, wait: () => context.children.wait(id) };
  } catch (error) {
    await undoCreate(context, id, pid, cgroup, hostMount);
    // Once the container existed, a failed create is its end: poststop hooks run (runtime.md, step 13).
    if (pid !== undefined) await runHooksWarning(spec.hooks, 'poststop', state('stopped'), bundle.dir, context.warn);
    throw error;
  } finally {
    lock.release();
  }
}

/** A failed create leaves nothing: its process, cgroups, rootfs bind and state directory go. */
async function undoCreate(
  context: RuntimeContext,
  id: string,
  pid: number | undefined,
  cgroup: CgroupRecord | undefined,
  hostMount: HostMount | undefined,
): Promise<void> {
  const handle = pid ? ProcessHandle.open(pid) : undefined;
  if (handle) {
    handle.signal(SIGKILL);
    await handle.wait().catch(() => {});
  }
  if (cgroup) await removeCgroup(cgroup);
  if (hostMount) detachHostMount(hostMount);
  context.store.remove(id);
}

/** The hooks that run after create (start's and delete's), kept in the state. */
function laterHooks(hooks: Hooks | undefined): Pick<StoredState, 'hooks'> {
  const later = { ...(hooks?.poststart?.length && { poststart: hooks.poststart }), ...(hooks?.poststop?.length && { poststop: hooks.poststop }) };
  return Object.keys(later).length > 0 ? { hooks: later } : {};
}
