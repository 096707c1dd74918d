/**
 * ENOSYS for syscalls newer than a profile knows (what runc's patchbpf does): under a profile
 * whose default refuses with EPERM, a syscall the kernel gained after the profile was written
 * (clone3 under an older profile, say) would fail with EPERM, and libc, which falls back to an
 * older syscall only on ENOSYS, would fail with it. So, for each architecture of the filter, a
 * syscall numbered above every syscall the profile names gets ENOSYS, as if the kernel lacked
 * it: a few classic BPF instructions put before libseccomp's program.
 */
import { requireAddon } from '@oci/native';

/** linux/audit.h. The kernel reports x32 syscalls as x86_64 ones with this bit in the number. */
const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x4000_0000;
const RET_ERRNO_ENOSYS = 0x0005_0000 | 38;

// Classic BPF (linux/filter.h) over struct seccomp_data: the number at offset 0, the arch at 4.
const LD_ABS = 0x20;
const JEQ = 0x15;
const JGT = 0x25;
const JGE = 0x35;
const JA = 0x05;
const RET = 0x06;
const DATA_NR = 0;
const DATA_ARCH = 4;

/** Where a jump goes: the next instruction, libseccomp's program (after ours), or a label. */
type Target = 'next' | 'filter' | string;

interface Insn {
  code: number;
  k?: number;
  jt?: Target;
  jf?: Target;
  label?: string;
}

/** This machine's architecture as libseccomp names it (the filter always has it). */
export function nativeArchitecture(): string {
  const names: Record<string, string> = {
    x64: 'x86_64',
    ia32: 'x86',
    arm64: 'aarch64',
    arm: 'arm',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
    loong64: 'loongarch64',
  };
  return names[process.arch] ?? process.arch;
}

/**
 * The instructions to put before a filter for `architectures` (libseccomp's names; the native
 * one is added) whose profile names the syscalls `names`; none when it names no syscall.
 */
export function enosysPrefix(architectures: readonly string[], names: readonly string[]): Buffer {
  const arches = [...new Set([nativeArchitecture(), ...architectures])].map((arch) => {
    const { token, numbers } = requireAddon().seccompSyscalls(arch, names);
    return { arch, token: token >>> 0, newest: Math.max(-1, ...numbers) };
  });
  if (arches.every((a) => a.newest < 0)) return Buffer.alloc(0);
  const x32 = arches.find((a) => a.arch === 'x32' && a.newest >= 0);
  const blocks = arches.filter((a) => a.arch !== 'x32');
  const insns: Insn[] = [];
  for (const [i, a] of blocks.entries()) {
    const otherArch = i + 1 < blocks.length ? `arch ${blocks[i + 1]!.arch}` : 'filter';
    insns.push({ code: LD_ABS, k: DATA_ARCH, label: `arch ${a.arch}` }, { code: JEQ, k: a.token, jt: 'next', jf: otherArch }, { code: LD_ABS, k: DATA_NR });
    const x86_64 = a.token === AUDIT_ARCH_X86_64;
    // x32 numbers are left to libseccomp unless the filter has x32 and the profile names some.
    if (x86_64) insns.push({ code: JGE, k: X32_SYSCALL_BIT, jt: x32 ? 'x32' : 'filter', jf: 'next' });
    insns.push(a.newest >= 0 ? { code: JGT, k: a.newest, jt: 'enosys', jf: 'filter' } : { code: JA, jt: 'filter' });
    if (x86_64 && x32) insns.push({ code: JGT, k: x32.newest, jt: 'enosys', jf: 'filter', label: 'x32' });
  }
  insns.push({ code: RET, k: RET_ERRNO_ENOSYS, label: 'enosys' });
  return encode(insns);
}

/** struct sock_filter[] (host byte order: little-endian here), jumps resolved to offsets. */
function encode(insns: readonly Insn[]): Buffer {
  const offset = (target: Target, from: number): number => {
    const to = target === 'next' ? from + 1 : target === 'filter' ? insns.length : insns.findIndex((insn) => insn.label === target);
    if (to <= from) throw new Error(`seccomp prefix: no forward target '${target}'`);
    return to - from - 1;
  };
  const out = Buffer.alloc(insns.length * 8);
  for (const [i, insn] of insns.entries()) {
    const jump = insn.code === JA;
    out.writeUInt16LE(insn.code, i * 8);
    out.writeUInt8(!jump && insn.jt ? offset(insn.jt, i) : 0, i * 8 + 2);
    out.writeUInt8(!jump && insn.jf ? offset(insn.jf, i) : 0, i * 8 + 3);
    out.writeUInt32LE(jump ? offset(insn.jt!, i) : (insn.k ?? 0) >>> 0, i * 8 + 4);
  }
  return out;
}
