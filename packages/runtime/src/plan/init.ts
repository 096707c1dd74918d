/**
 * The plan that creates a container (the order runc's and crun's init follow):
 *
 *   helper:     join the v1 cgroups, oom score, join namespaces, listen for start, clone
 *               (into the v2 cgroup)
 *   container:  new session and keyring, mount propagation, rootfs, mounts, /dev, prestart and
 *               createRuntime hooks (the runtime runs them while we wait), createContainer
 *               hooks, pivot_root, terminal, read-only remounts, hostname, sysctls, read-only
 *               and masked paths, rlimits, no_new_privs, cwd, fds, [seccomp without
 *               no_new_privs], credentials, umask, program lookup, "ready" (answered once the
 *               runtime recorded the container), wait for start, startContainer hooks, [seccomp
 *               with no_new_privs], exec.
 *
 * seccomp goes as late as it can (fewer syscalls the profile must allow after it), but while
 * CAP_SYS_ADMIN is still there when no_new_privs is off: the kernel requires one or the other.
 */
import path from 'node:path';
import type { Mount, Spec } from '@oci/specs';
import { invalid } from '../errors.js';
import { cgroupOps, consoleOp, containerSeccompOp, foregroundOps, type HostFacts, oomScoreOps, type PlanOptions, seccompAgentState } from './common.js';
import { devOps } from './devices.js';
import { hasHooks, hookOps, hookState, stateTemplate } from './hooks.js';
import { type CgroupMountSource, cgroupMountOps, destinationOf, isBind, MS, mountOps, PROPAGATION, parseMountOptions } from './mounts.js';
import { hasNamespace, hasNewNamespace, namespacePlan } from './namespaces.js';
import type { Op } from './ops.js';
import { environment, execOps, processOps, rlimitOps, sessionOps } from './process.js';
import { sysctlOps } from './sysctl.js';
import { type Caller, userNamespacePlan } from './userns.js';

export interface InitPlanOptions extends PlanOptions {
  /** Absolute path of the root filesystem. */
  rootfs: string;
  /** Where the container's process waits for `start`: a path in the container's state directory. */
  startSocket: string;
  cgroupMounts: readonly CgroupMountSource[];
  /** chroot instead of pivot_root (--no-pivot). */
  noPivot?: boolean;
  /** Keep the caller's session keyring (--no-new-keyring). */
  noNewKeyring?: boolean;
  /** Who runs the runtime: root or not decides how user namespace maps are written. */
  caller: Caller;
}

/** The `sync` op's name for the point where prestart and createRuntime hooks run. */
export const CREATE_RUNTIME_SYNC = 'createRuntime';

export function initPlan(options: InitPlanOptions): Op[] {
  const { spec } = options;
  const process = spec.process!;
  const namespaces = namespacePlan(spec);
  const env = environment(process, options.home);
  const state = (status: 'creating' | 'created') => hookState(options.id, options.bundle, spec.annotations ?? {}, status, 0);
  const seccomp = containerSeccompOp(options, () => stateTemplate(seccompAgentState(state(process.noNewPrivileges ? 'created' : 'creating'), spec)));
  const userns = userNamespacePlan(spec, options.caller);
  return [
    ...cgroupOps(options.cgroup),
    ...oomScoreOps(process.oomScoreAdj),
    ...namespaces.before,
    // In a new user namespace the container's process cannot raise a hard limit: they are set
    // here, still in ours, and it inherits them (runc sets them from outside too).
    ...(userns ? [userns.op, ...rlimitOps(process)] : []),
    ['start_socket', path.dirname(options.startSocket), path.basename(options.startSocket)],
    ['clone', namespaces.cloneFlags, options.cgroup.unified ?? ''],
    ...sessionOps(options.id, options.noNewKeyring),
    ...rootfsOps(options),
    ...(process.terminal ? [consoleOp(process, options.consoleFd), ['dev_console'] as Op] : []),
    ...finishingOps(spec),
    ...processOps({
      process,
      env,
      passFds: options.passFds,
      lastCap: options.host.lastCap,
      seccomp,
      rlimitsSet: userns !== undefined,
      keepGroups: userns?.setgroupsDenied,
      warn: options.warn,
    }),
    ...foregroundOps(options.foreground),
    ['ready'],
    ['wait_start'],
    ...hookOps('startContainer', spec.hooks?.startContainer, state('created')),
    ...execOps(process, env, seccomp),
  ];
}

/** rootfsPropagation as flags, applied to the container's / once pivoted. */
function rootPropagation(spec: Spec): number | undefined {
  const name = spec.linux?.rootfsPropagation;
  if (name === undefined) return undefined;
  const flags = PROPAGATION[name];
  if (flags === undefined) throw invalid(`linux.rootfsPropagation: unknown value '${name}'`);
  return flags;
}

/**
 * Until pivot_root every mount is a recursive slave of the host's: nothing mounted here
 * reaches the host, and pivot_root, which refuses a shared parent, works whatever
 * rootfsPropagation asks for (that is applied to the new / afterwards).
 *
 * A container without a mount namespace of its own mounts in the host's (the runtime spec's
 * "inherit"): there only the rootfs bind is made private, so that nothing mounted under it
 * propagates, and the container chroots into it (pivot_root or a move would change the host's
 * /). The runtime detaches that bind on delete.
 */
function rootfsOps({ id, bundle: dir, spec, rootfs, cgroupMounts, host, noPivot }: InitPlanOptions): Op[] {
  const ownMounts = hasNamespace(spec, 'mount');
  const ops: Op[] = ownMounts
    ? [
        ['propagate', '/', MS.SLAVE | MS.REC],
        ['rootfs', rootfs],
      ]
    : [
        ['rootfs', rootfs],
        ['propagate', '/', MS.PRIVATE | MS.REC],
      ];
  const mounts = spec.mounts ?? [];
  const userns = hasNewNamespace(spec, 'user');
  // cgroup v1 cannot be mounted in a user namespace (cgroup2 can): its directories are bound.
  const freshCgroups = hasNewNamespace(spec, 'cgroup') && !(userns && cgroupMounts.some((source) => source.fstype === 'cgroup'));
  for (const m of mounts) {
    if (m.type === 'cgroup') ops.push(...cgroupMountOps(m, cgroupMounts, freshCgroups));
    else ops.push(...mountOps(userns ? inUserNamespace(m, spec, host) : m, dir));
  }
  ops.push(['mkdirs', spec.process!.cwd]);
  const dev = mounts.find((m) => destinationOf(m) === '/dev');
  // A /dev bound from the host has its devices already.
  if (!dev || !isBind(dev, parseMountOptions(dev.options))) ops.push(...devOps(spec, { kcore: host.kcore, bind: userns }));
  if (hasHooks(spec.hooks, ['prestart', 'createRuntime'])) ops.push(['sync', CREATE_RUNTIME_SYNC]);
  ops.push(...hookOps('createContainer', spec.hooks?.createContainer, hookState(id, dir, spec.annotations ?? {}, 'creating', 0)));
  ops.push(!ownMounts ? ['chroot', 0] : noPivot ? ['chroot', 1] : ['pivot_root']);
  return ops;
}

/**
 * A mount as a user namespace allows it: sysfs belongs to the network namespace and mqueue to
 * the ipc one, and the kernel mounts them only for their owner. Borrowed from the host (bound)
 * when the container keeps the host's, as runc does.
 */
function inUserNamespace(m: Mount, spec: Spec, host: HostFacts): Mount {
  const borrowed = (source: string): Mount => ({ destination: m.destination, type: 'bind', source, options: ['rbind', ...parseFlagOptions(m.options)] });
  if (m.type === 'sysfs' && !hasNewNamespace(spec, 'network')) return borrowed('/sys');
  if (m.type === 'mqueue' && !hasNewNamespace(spec, 'ipc')) {
    if (!host.devMqueue)
      throw invalid(
        `mount on ${m.destination}: mqueue cannot be mounted in a user namespace without its own ipc namespace, and the host has no /dev/mqueue to bind`,
      );
    return borrowed('/dev/mqueue');
  }
  return m;
}

/** The options that are mount flags (ro, nosuid…), without the filesystem's data. */
const parseFlagOptions = (options: readonly string[] = []) => options.filter((o) => parseMountOptions([o]).data === '');

/** After pivot_root: what must wait until every mount and device is in place. */
function finishingOps(spec: Spec): Op[] {
  const ops: Op[] = [];
  const dev = (spec.mounts ?? []).find((m) => destinationOf(m) === '/dev');
  if (dev && !isBind(dev, parseMountOptions(dev.options)) && parseMountOptions(dev.options).flags & MS.RDONLY) ops.push(['remount_readonly', '/dev']);
  const propagation = rootPropagation(spec);
  if (propagation !== undefined) ops.push(['propagate', '/', propagation]);
  if (spec.root?.readonly) ops.push(['remount_readonly', '/']);
  if (spec.hostname !== undefined) ops.push(['hostname', spec.hostname]);
  if (spec.domainname !== undefined) ops.push(['domainname', spec.domainname]);
  ops.push(...sysctlOps(spec));
  for (const p of spec.linux?.readonlyPaths ?? []) ops.push(['readonly_path', p]);
  for (const p of spec.linux?.maskedPaths ?? []) ops.push(['mask', p]);
  return ops;
}
