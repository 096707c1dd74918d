/**
 * linux.seccomp as the helper's `seccomp` op: the profile checked here and put in libseccomp's
 * terms (a SeccompFilter), compiled to BPF by libseccomp outside the plan (../seccomp/compile.ts),
 * and loaded by the helper with seccomp(2) where the plan puts it.
 *
 * What runc does, kept: the default errno is EPERM, a rule whose action equals the default is
 * dropped (libseccomp refuses it), conditions on the same argument are separate rules (OR:
 * libseccomp cannot AND two comparisons of one argument), SECCOMP_FILTER_FLAG_TSYNC is accepted.
 *
 * Syscall names libseccomp does not know: skipped, as runc does, when the profile's default
 * action already stops the syscall (podman's and docker's profiles name syscalls newer than
 * Debian's libseccomp; refusing them would refuse every podman container). Refused when the
 * default lets syscalls run (ALLOW, LOG) and the rule would stop it: skipping that rule would
 * silently let through exactly what the profile means to block.
 */
import type { Seccomp } from '@oci/specs';
import { invalid } from '../errors.js';
import type { Op } from './ops.js';

/** The actions as the kernel and libseccomp number them (SECCOMP_RET_*); errno goes in the low 16 bits. */
export const SECCOMP_ACTIONS = {
  SCMP_ACT_KILL: 0x0000_0000,
  SCMP_ACT_KILL_THREAD: 0x0000_0000,
  SCMP_ACT_KILL_PROCESS: 0x8000_0000,
  SCMP_ACT_TRAP: 0x0003_0000,
  SCMP_ACT_ERRNO: 0x0005_0000,
  SCMP_ACT_TRACE: 0x7ff0_0000,
  SCMP_ACT_LOG: 0x7ffc_0000,
  SCMP_ACT_ALLOW: 0x7fff_0000,
  SCMP_ACT_NOTIFY: 0x7fc0_0000,
} as const satisfies Record<string, number>;

/** libseccomp's enum scmp_compare, in its order: SCMP_CMP_NE is 1. */
export const SECCOMP_OPERATORS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;

/** SECCOMP_FILTER_FLAG_* (linux/seccomp.h) the runtime spec names, loaded as they are. */
export const SECCOMP_FLAGS = {
  SECCOMP_FILTER_FLAG_TSYNC: 1 << 0,
  SECCOMP_FILTER_FLAG_LOG: 1 << 1,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 1 << 2,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 1 << 5,
} as const satisfies Record<string, number>;
const FLAG_NEW_LISTENER = 1 << 3;
/** What makes TSYNC and NEW_LISTENER compatible: TSYNC failing reports ESRCH instead of a thread id. */
const FLAG_TSYNC_ESRCH = 1 << 4;

/** The spec's architecture names (SCMP_ARCH_X86_64) and libseccomp's (x86_64). */
export const SECCOMP_ARCHITECTURES = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_LOONGARCH64',
] as const;
export const libseccompArch = (name: string) => name.slice('SCMP_ARCH_'.length).toLowerCase();

const EPERM = 1;
const ENOSYS = 38;

/** One rule of the filter, as libseccomp takes it (conditions compared together: AND). */
export interface FilterRule {
  syscall: string;
  action: number;
  conditions: { index: number; op: number; a: bigint; b: bigint }[];
}

/** linux.seccomp checked, in libseccomp's terms: what ../seccomp/compile.ts compiles. */
export interface SeccompFilter {
  defaultAction: number;
  /** libseccomp's names. */
  architectures: string[];
  rules: FilterRule[];
  /** SECCOMP_FILTER_FLAG_* to load it with (NEW_LISTENER with SCMP_ACT_NOTIFY rules). */
  flags: number;
  /** It has SCMP_ACT_NOTIFY rules: the listener goes to the seccomp agent. */
  notify: boolean;
  /**
   * Syscalls newer than all of these (every name the profile has) are refused with ENOSYS (see
   * ../seccomp/enosys.ts); undefined when the default lets them run, leaves them to a tracer, or
   * says ENOSYS already (as runc).
   */
  enosysAbove?: string[];
}

/** A filter with its BPF program: what the plan's `seccomp` op loads. */
export interface CompiledSeccomp {
  filter: SeccompFilter;
  program: Buffer;
}

const has = <T extends object>(table: T, key: unknown): key is keyof T => typeof key === 'string' && Object.hasOwn(table, key);

function action(name: unknown, errnoRet: unknown, where: string): number {
  if (!has(SECCOMP_ACTIONS, name)) throw invalid(`${where}: unknown action '${String(name)}'`);
  const base = SECCOMP_ACTIONS[name];
  if (errnoRet === undefined) return name === 'SCMP_ACT_ERRNO' || name === 'SCMP_ACT_TRACE' ? base | EPERM : base;
  if (name !== 'SCMP_ACT_ERRNO' && name !== 'SCMP_ACT_TRACE') throw invalid(`${where}: errnoRet is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not ${name}`);
  if (!Number.isInteger(errnoRet) || (errnoRet as number) < 0 || (errnoRet as number) > 0xffff)
    throw invalid(`${where}: errnoRet ${String(errnoRet)} is not an errno number`);
  return (base | (errnoRet as number)) >>> 0;
}

/** Whether the default refuses a syscall the kernel has: then a newer one may be refused as if it had not (ENOSYS). */
function refusesWithEnosys(defaultAction: number): boolean {
  const kind = (defaultAction & 0xffff_0000) >>> 0;
  return !letsRun(defaultAction) && kind !== SECCOMP_ACTIONS.SCMP_ACT_TRACE && defaultAction !== (SECCOMP_ACTIONS.SCMP_ACT_ERRNO | ENOSYS);
}

/** Whether the kernel runs a syscall under this action (so a rule missing from the filter lets it run). */
const letsRun = (value: number) => value === SECCOMP_ACTIONS.SCMP_ACT_ALLOW || value === SECCOMP_ACTIONS.SCMP_ACT_LOG;

function rulesOf(seccomp: Seccomp, defaultAction: number): { rules: FilterRule[]; notify: boolean } {
  const rules: FilterRule[] = [];
  let notify = false;
  if (seccomp.syscalls !== undefined && !Array.isArray(seccomp.syscalls)) throw invalid('linux.seccomp.syscalls must be a list');
  for (const [i, entry] of (seccomp.syscalls ?? []).entries()) {
    const where = `linux.seccomp.syscalls[${i}]`;
    if (!Array.isArray(entry?.names) || entry.names.length === 0 || !entry.names.every((n) => typeof n === 'string' && n !== ''))
      throw invalid(`${where}: names must list syscall names`);
    const value = action(entry.action, entry.errnoRet, where);
    if (entry.action === 'SCMP_ACT_NOTIFY') {
      notify = true;
      // The helper hands the listener to the agent with sendmsg after loading the filter.
      if (entry.names.includes('sendmsg')) throw invalid(`${where}: SCMP_ACT_NOTIFY cannot apply to sendmsg, which sends the agent its listener`);
    }
    if (value === defaultAction) continue;
    const conditions = (entry.args ?? []).map((arg, j) => {
      if (!Number.isInteger(arg?.index) || arg.index < 0 || arg.index > 5) throw invalid(`${where}.args[${j}]: index must be 0 to 5`);
      const op = (SECCOMP_OPERATORS as readonly string[]).indexOf(arg.op) + 1;
      if (op === 0) throw invalid(`${where}.args[${j}]: unknown operator '${String(arg.op)}'`);
      for (const v of [arg.value, arg.valueTwo ?? 0]) if (!Number.isInteger(v) || v < 0) throw invalid(`${where}.args[${j}]: values must be unsigned integers`);
      return { index: arg.index, op, a: BigInt(arg.value), b: BigInt(arg.valueTwo ?? 0) };
    });
    const sameIndex = new Set(conditions.map((c) => c.index)).size < conditions.length;
    for (const syscall of entry.names) {
      if (sameIndex) for (const c of conditions) rules.push({ syscall, action: value, conditions: [c] });
      else rules.push({ syscall, action: value, conditions });
    }
  }
  return { rules, notify };
}

function flagsOf(seccomp: Seccomp): number {
  if (seccomp.flags !== undefined && !Array.isArray(seccomp.flags)) throw invalid('linux.seccomp.flags must be a list');
  let flags = 0;
  for (const name of seccomp.flags ?? []) {
    if (!has(SECCOMP_FLAGS, name)) throw invalid(`linux.seccomp.flags: unknown flag '${String(name)}'`);
    flags |= SECCOMP_FLAGS[name];
  }
  return flags;
}

/** Whether linux.seccomp has SCMP_ACT_NOTIFY rules, which need a seccomp agent. */
export function needsAgent(seccomp: Seccomp | undefined): boolean {
  return seccomp?.syscalls?.some((s) => s?.action === 'SCMP_ACT_NOTIFY') ?? false;
}

/** The filter linux.seccomp asks for, checked. */
export function seccompFilter(seccomp: Seccomp): SeccompFilter {
  if (typeof seccomp !== 'object' || seccomp === null) throw invalid('linux.seccomp must be an object');
  if (seccomp.defaultAction === 'SCMP_ACT_NOTIFY')
    throw invalid("linux.seccomp.defaultAction cannot be SCMP_ACT_NOTIFY: every syscall, the runtime's own included, would wait for the agent");
  const defaultAction = action(seccomp.defaultAction, seccomp.defaultErrnoRet, 'linux.seccomp.defaultAction');
  if (seccomp.architectures !== undefined && !Array.isArray(seccomp.architectures)) throw invalid('linux.seccomp.architectures must be a list');
  const architectures = (seccomp.architectures ?? []).map((name) => {
    if (!(SECCOMP_ARCHITECTURES as readonly string[]).includes(name)) throw invalid(`linux.seccomp.architectures: unknown architecture '${String(name)}'`);
    return libseccompArch(name);
  });
  let flags = flagsOf(seccomp);
  const { rules, notify } = rulesOf(seccomp, defaultAction);
  if (flags & SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && !notify)
    throw invalid('linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is about SCMP_ACT_NOTIFY, which no rule uses');
  if (notify) {
    if (!seccomp.listenerPath) throw invalid('linux.seccomp: SCMP_ACT_NOTIFY needs a listenerPath, where the seccomp agent listens');
    flags |= FLAG_NEW_LISTENER | (flags & SECCOMP_FLAGS.SECCOMP_FILTER_FLAG_TSYNC ? FLAG_TSYNC_ESRCH : 0);
  }
  const enosysAbove = refusesWithEnosys(defaultAction) ? (seccomp.syscalls ?? []).flatMap((entry) => entry.names) : undefined;
  return { defaultAction, architectures, rules, flags, notify, ...(enosysAbove && { enosysAbove }) };
}

/** Whether a rule may be left out of the filter (its syscall unknown to libseccomp): only where the default stops the syscall too. */
export const mayLeaveOut = (filter: SeccompFilter, rule: FilterRule) => !letsRun(filter.defaultAction) || letsRun(rule.action);

/**
 * The `seccomp` op: with SCMP_ACT_NOTIFY rules, `agent` is the helper's fd of the connection to
 * linux.seccomp.listenerPath and the state the agent receives (JSON, 0x01 where the pid goes).
 */
export function seccompOp({ filter, program }: CompiledSeccomp, agent: { fd?: number; state: string }): Op {
  if (!filter.notify) return ['seccomp', filter.flags, program.toString('hex'), -1, ''];
  if (agent.fd === undefined) throw invalid('linux.seccomp: SCMP_ACT_NOTIFY needs a connection to the seccomp agent');
  return ['seccomp', filter.flags, program.toString('hex'), agent.fd, agent.state];
}
