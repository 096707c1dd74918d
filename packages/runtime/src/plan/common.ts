/**
 * What the init plan (init.ts: a container's first process) and the exec plan (exec.ts: another
 * process in it) share: the part of their options that is the same, and the ops both write.
 */
import { type Process, RUNTIME_SPEC_VERSION, type Spec } from '@oci/specs';
import { invalid } from '../errors.js';
import type { Op } from './ops.js';
import { type CompiledSeccomp, seccompOp } from './seccomp.js';

export interface HostFacts {
  /** /proc/sys/kernel/cap_last_cap */
  lastCap: number;
  /** /proc/kcore exists (then /dev/core links to it). */
  kcore: boolean;
  /** /dev/mqueue exists (bound into a user namespace that has no ipc namespace of its own). */
  devMqueue: boolean;
}

/** What every plan starts from: the container, the process's surroundings, what the helper was given. */
export interface PlanOptions {
  /** The container's id: it names the container's session keyring. */
  id: string;
  /** The container's bundle directory. */
  bundle: string;
  /** Its config.json. */
  spec: Spec;
  /** The container's cgroups: v1 ones the helper joins, the v2 one it clones into. */
  cgroup: { dirs: readonly string[]; unified?: string };
  host: HostFacts;
  /** HOME when the process does not set it. */
  home: string;
  /** fds 3… passed to the program; the rest are closed at exec. */
  passFds: number;
  /** The fd in the helper of the socket the terminal's master is sent over (process.terminal). */
  consoleFd?: number;
  /** The fd in the helper of the connection to the seccomp agent (SCMP_ACT_NOTIFY rules). */
  seccompAgentFd?: number;
  /** linux.seccomp compiled (../seccomp/compile.ts); given whenever config.json has it. */
  seccomp?: CompiledSeccomp;
  /** The program dies with the runtime (a foreground `run`, an exec without --detach). */
  foreground?: boolean;
  /** Told about capabilities this runtime does not know (they are ignored, as runc does). */
  warn?: (message: string) => void;
}

/** The v1 cgroups the helper joins before it clones (the v2 one is cloned into). */
export function cgroupOps(cgroup: { dirs: readonly string[]; unified?: string }): Op[] {
  return cgroup.dirs.filter((dir) => dir !== cgroup.unified).map((dir): Op => ['cgroup', dir]);
}

export function foregroundOps(foreground: boolean | undefined): Op[] {
  return foreground ? [['foreground']] : [];
}

export function oomScoreOps(score: number | undefined): Op[] {
  return score === undefined ? [] : [['oom_score_adj', score]];
}

/** What the seccomp agent receives with the listener (runtime-spec config-linux.md, "containerProcessState"). */
export function seccompAgentState(state: object, spec: Spec): object {
  return { ociVersion: RUNTIME_SPEC_VERSION, fds: ['seccompFd'], pid: 0, metadata: spec.linux?.seccomp?.listenerMetadata ?? '', state };
}

export function consoleOp(process: Process, consoleFd: number | undefined): Op {
  if (consoleFd === undefined) throw invalid('process.terminal is true: a console socket is needed to pass the terminal');
  const size = process.consoleSize;
  return ['console', consoleFd, size?.height ?? 0, size?.width ?? 0];
}

/**
 * The container's seccomp filter as an op, which every process of it gets; undefined without
 * linux.seccomp. `agentState` makes the state the seccomp agent receives (SCMP_ACT_NOTIFY).
 */
export function containerSeccompOp(options: PlanOptions, agentState: () => string): Op | undefined {
  if (!options.spec.linux?.seccomp) return undefined;
  // Never left out quietly: a filter the caller forgot is a container without its confinement.
  if (!options.seccomp) throw new TypeError('plan: linux.seccomp is set, but its compiled filter was not given');
  return seccompOp(options.seccomp, { fd: options.seccompAgentFd, state: agentState() });
}
