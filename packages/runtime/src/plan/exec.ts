/**
 * The plan that starts another process in a running container (`exec`), the way runc's setns
 * process does:
 *
 *   helper:     join the container's v1 cgroups, oom score, pin the container's first process,
 *               enter its namespaces but the mount one, clone (into its pid namespace and v2
 *               cgroup)
 *   process:    enter its mount namespace, new session and the container's keyring, terminal,
 *               then what every process of a container goes through (rlimits … program
 *               lookup, its seccomp filter), exec.
 *
 * No mounts, no start socket: the program runs at once. The mount namespace is entered after
 * `clone`, whose v2 cgroup path is the host's.
 */
import type { Process, Spec } from '@oci/specs';
import { cgroupOps, consoleOp, containerSeccompOp, foregroundOps, oomScoreOps, type PlanOptions, seccompAgentState } from './common.js';
import { type ContainerStateJson, hookState, stateTemplate } from './hooks.js';
import { CLONE_NEW } from './namespaces.js';
import type { Op } from './ops.js';
import { environment, execOps, processOps, sessionOps } from './process.js';

export interface ExecPlanOptions extends PlanOptions {
  /** The process to start. */
  process: Process;
  /** The container's first process, whose namespaces are entered. */
  container: { pid: number; startTime: string };
  /** CLONE_NEW* flags of the namespaces the container does not share with the runtime. */
  namespaces: number;
  /** The container's user namespace denies setgroups (a rootless one mapping one gid). */
  setgroupsDenied?: boolean;
}

export function execPlan(options: ExecPlanOptions): Op[] {
  const { spec, process } = options;
  const env = environment(process, options.home);
  const beforeClone = options.namespaces & ~CLONE_NEW.mount;
  const state = hookState(options.id, options.bundle, spec.annotations ?? {}, 'running', options.container.pid);
  const seccomp = containerSeccompOp(options, () => agentState(spec, state));
  return [
    ...cgroupOps(options.cgroup),
    // The container's score unless the process has its own, as runc does.
    ...oomScoreOps(process.oomScoreAdj ?? spec.process?.oomScoreAdj),
    ['container', options.container.pid, options.container.startTime],
    ...(beforeClone ? [['join', beforeClone] as Op] : []),
    ['clone', 0, options.cgroup.unified ?? ''],
    ...(options.namespaces & CLONE_NEW.mount ? [['join', CLONE_NEW.mount] as Op] : []),
    ...sessionOps(options.id),
    ...(process.terminal ? [consoleOp(process, options.consoleFd)] : []),
    ...processOps({ process, env, passFds: options.passFds, lastCap: options.host.lastCap, seccomp, keepGroups: options.setgroupsDenied, warn: options.warn }),
    ...foregroundOps(options.foreground),
    ...execOps(process, env, seccomp),
  ];
}

/** What the seccomp agent receives for an exec'd process: its pid (left to the helper), and the
    state of the container, whose pid is its first process's. */
function agentState(spec: Spec, state: ContainerStateJson): string {
  return stateTemplate(seccompAgentState({}, spec)).replace('"state":{}', `"state":${JSON.stringify(state)}`);
}
