/** The container process's identity and limits: capabilities, rlimits, ids, environment. */
import type { Process } from '@oci/specs';
import { invalid } from '../errors.js';
import type { Op } from './ops.js';

/** capability(7) numbers, as in linux/capability.h. */
export const CAPABILITIES: Readonly<Record<string, number>> = Object.fromEntries(
  [
    'CHOWN',
    'DAC_OVERRIDE',
    'DAC_READ_SEARCH',
    'FOWNER',
    'FSETID',
    'KILL',
    'SETGID',
    'SETUID',
    'SETPCAP',
    'LINUX_IMMUTABLE',
    'NET_BIND_SERVICE',
    'NET_BROADCAST',
    'NET_ADMIN',
    'NET_RAW',
    'IPC_LOCK',
    'IPC_OWNER',
    'SYS_MODULE',
    'SYS_RAWIO',
    'SYS_CHROOT',
    'SYS_PTRACE',
    'SYS_PACCT',
    'SYS_ADMIN',
    'SYS_BOOT',
    'SYS_NICE',
    'SYS_RESOURCE',
    'SYS_TIME',
    'SYS_TTY_CONFIG',
    'MKNOD',
    'LEASE',
    'AUDIT_WRITE',
    'AUDIT_CONTROL',
    'SETFCAP',
    'MAC_OVERRIDE',
    'MAC_ADMIN',
    'SYSLOG',
    'WAKE_ALARM',
    'BLOCK_SUSPEND',
    'AUDIT_READ',
    'PERFMON',
    'BPF',
    'CHECKPOINT_RESTORE',
  ].map((name, bit) => [`CAP_${name}`, bit]),
);

export const RLIMITS: Readonly<Record<string, number>> = Object.fromEntries(
  ['CPU', 'FSIZE', 'DATA', 'STACK', 'CORE', 'RSS', 'NPROC', 'NOFILE', 'MEMLOCK', 'AS', 'LOCKS', 'SIGPENDING', 'MSGQUEUE', 'NICE', 'RTPRIO', 'RTTIME'].map(
    (name, number) => [`RLIMIT_${name}`, number],
  ),
);

/** RLIM_INFINITY: config.json writes it as 2^64-1, which JSON.parse rounds to 2^64. */
const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;
const rlimitValue = (n: number) => (n >= 2 ** 64 - 2 ** 11 ? RLIM_INFINITY : BigInt(n));

export function rlimitOps(process: Process): Op[] {
  const seen = new Set<string>();
  return (process.rlimits ?? []).map((r): Op => {
    const resource = RLIMITS[r.type];
    if (resource === undefined) throw invalid(`process.rlimits: unknown type '${r.type}'`);
    if (seen.has(r.type)) throw invalid(`process.rlimits: '${r.type}' is listed twice`);
    seen.add(r.type);
    if (r.soft > r.hard) throw invalid(`process.rlimits: ${r.type}: soft limit ${r.soft} is above hard limit ${r.hard}`);
    return ['rlimit', resource, rlimitValue(r.soft), rlimitValue(r.hard)];
  });
}

export interface CapabilityOptions {
  /** The host kernel's last capability (/proc/sys/kernel/cap_last_cap): later ones are dropped. */
  lastCap: number;
  /** Names this runtime does not know, reported (runc warns and ignores them too). */
  onUnknown?: (name: string) => void;
  /** setgroups is denied (an unprivileged user namespace): leave the groups, allow no additionalGids. */
  keepGroups?: boolean;
}

function mask(names: readonly string[] = [], { lastCap, onUnknown }: CapabilityOptions): bigint {
  let bits = 0n;
  for (const name of names) {
    const bit = CAPABILITIES[name];
    if (bit === undefined) onUnknown?.(name);
    else if (bit <= lastCap) bits |= 1n << BigInt(bit);
  }
  return bits;
}

/** The credentials op: ids, groups and the five capability sets. An ambient capability must
    also be permitted and inheritable or the kernel refuses it; runc then warns and skips it,
    and so does this (the default spec lists ambient capabilities but no inheritable ones). */
export function credentialsOp(process: Process, options: CapabilityOptions): Op {
  const caps = process.capabilities ?? {};
  const permitted = mask(caps.permitted, options);
  const inheritable = mask(caps.inheritable, options);
  const groups = process.user.additionalGids ?? [];
  if (options.keepGroups && groups.length > 0)
    throw invalid(
      'process.user.additionalGids need setgroups, which a user namespace mapping only your own gid denies: map subordinate gids (newgidmap) or drop them',
    );
  return [
    'credentials',
    process.user.uid,
    process.user.gid,
    options.keepGroups ? '-' : groups.join(','),
    mask(caps.bounding, options),
    mask(caps.effective, options),
    permitted,
    inheritable,
    mask(caps.ambient, options) & permitted & inheritable,
  ];
}

/** The environment: config.json's, with HOME added when missing, as runc does. */
export function environment(process: Process, home: string): string[] {
  const env = process.env ?? [];
  return env.some((e) => e.startsWith('HOME=')) ? [...env] : [...env, `HOME=${home}`];
}

/** The PATH the program is looked up with: the container's own (none: only paths with a /). */
export function searchPath(env: readonly string[]): string {
  return env.findLast((e) => e.startsWith('PATH='))?.slice('PATH='.length) ?? '';
}

/** A new session (so a terminal can become the controlling one) and, unless the caller's is
    kept, the container's session keyring: joined by name, so exec'd processes share it. The
    name is runc's, "_ses.ID": the kernel reserves names that start with a dot (ids may). */
export function sessionOps(id: string, noNewKeyring = false): Op[] {
  return [['setsid'], ...(noNewKeyring ? [] : [['session_keyring', `_ses.${id}`] as Op])];
}

export interface ProcessOpsOptions {
  process: Process;
  /** The program's environment, whose PATH finds it. */
  env: readonly string[];
  /** fds 3… passed to the program; the rest are closed at exec. */
  passFds: number;
  /** /proc/sys/kernel/cap_last_cap */
  lastCap: number;
  /** The container's seccomp filter (the `seccomp` op), which every process of it gets. */
  seccomp?: Op;
  /** The rlimits were set before clone (a new user namespace could not raise them). */
  rlimitsSet?: boolean;
  /** setgroups is denied in the container's user namespace: the groups stay as they are. */
  keepGroups?: boolean;
  /** Told about capabilities this runtime does not know (ignored, as runc does). */
  warn?: (message: string) => void;
}

/**
 * The last steps of every process the runtime starts in a container, its first one (create)
 * and the others (exec) alike, so that what is added here applies to both: rlimits,
 * no_new_privs, cwd, fds, seccomp (here while CAP_SYS_ADMIN is still there, when no_new_privs is
 * off: the kernel requires one or the other), credentials, umask, and finding the program.
 * `execOps` ends them.
 */
export function processOps({ process, env, passFds, lastCap, seccomp, rlimitsSet, keepGroups, warn }: ProcessOpsOptions): Op[] {
  return [
    ...(rlimitsSet ? [] : rlimitOps(process)),
    ...(process.noNewPrivileges ? [['no_new_privs'] as Op] : []),
    ['chdir', process.cwd],
    ['close_fds', 3 + passFds],
    ...(seccomp && !process.noNewPrivileges ? [seccomp] : []),
    credentialsOp(process, { lastCap, keepGroups, onUnknown: (name) => warn?.(`unknown capability ${name} ignored`) }),
    ['umask', process.user.umask ?? 0o022],
    ['find_program', process.args![0]!, searchPath(env)],
  ];
}

/**
 * The program runs: seccomp first when no_new_privs allows it this late (fewer syscalls the
 * profile must allow for the runtime's own steps), then exec with argv and the environment.
 */
export function execOps(process: Process, env: readonly string[], seccomp: Op | undefined): Op[] {
  return [...(seccomp && process.noNewPrivileges ? [seccomp] : []), ['exec', process.args!.length, ...process.args!, ...env]];
}
