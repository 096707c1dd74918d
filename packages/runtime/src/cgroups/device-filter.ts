/**
 * Device rules on cgroup v2, which has no devices files: an eBPF program of type
 * BPF_PROG_TYPE_CGROUP_DEVICE that the kernel runs on every open and mknod of a device in the
 * cgroup. The rules reduce the way v1 applies them: a rule for all devices ("a") resets the
 * list and sets the default; the others are checked last first, the first match deciding
 * (an allow must cover the access asked for, a deny needs only to touch it), as youki does.
 */
import type { DeviceRule } from '@oci/specs';

const BPF_DEVCG_DEV_BLOCK = 1;
const BPF_DEVCG_DEV_CHAR = 2;
const ACCESS_BITS: Readonly<Record<string, number>> = { m: 1, r: 2, w: 4 };

/** The rules left once "all devices" rules have reset what came before them. */
export function reduceRules(rules: readonly DeviceRule[]): { defaultAllow: boolean; rules: DeviceRule[] } {
  let defaultAllow = true;
  let kept: DeviceRule[] = [];
  for (const rule of rules) {
    if ((rule.type ?? 'a') === 'a') {
      defaultAllow = rule.allow;
      kept = [];
    } else {
      kept.push(rule);
    }
  }
  return { defaultAllow, rules: kept };
}

const accessMask = (access = 'rwm') => [...access].reduce((mask, c) => mask | (ACCESS_BITS[c] ?? 0), 0);

// eBPF instructions: 8 bytes each (opcode, dst and src registers, 16-bit offset, 32-bit immediate).
const LDX_W = 0x61; // dst = *(u32 *)(src + off)
const MOV32_X = 0xbc; // dst = src
const MOV32_K = 0xb4; // dst = imm
const AND32_K = 0x54; // dst &= imm
const RSH32_K = 0x74; // dst >>= imm
const JNE_K = 0x55; // if dst != imm: pc += off
const JEQ_K = 0x15; // if dst == imm: pc += off
const EXIT = 0x95;

type Insn = [code: number, dst: number, src: number, off: number, imm: number];

function encode(insns: readonly Insn[]): Buffer {
  const out = Buffer.alloc(insns.length * 8);
  insns.forEach(([code, dst, src, off, imm], i) => {
    out.writeUInt8(code, i * 8);
    out.writeUInt8((src << 4) | dst, i * 8 + 1);
    out.writeInt16LE(off, i * 8 + 2);
    out.writeInt32LE(imm, i * 8 + 4);
  });
  return out;
}

/**
 * The program for a rule list. The context (struct bpf_cgroup_dev_ctx) holds access_type
 * (access << 16 | type), major and minor; r0 = 1 allows, 0 denies.
 */
export function deviceFilterProgram(rules: readonly DeviceRule[]): Buffer {
  const reduced = reduceRules(rules);
  const insns: Insn[] = [
    [LDX_W, 2, 1, 0, 0], // r2 = access_type
    [MOV32_X, 3, 2, 0, 0],
    [AND32_K, 3, 0, 0, 0xffff], // r3 = type
    [MOV32_X, 4, 2, 0, 0],
    [RSH32_K, 4, 0, 0, 16], // r4 = access
    [LDX_W, 5, 1, 4, 0], // r5 = major
    [LDX_W, 6, 1, 8, 0], // r6 = minor
  ];
  for (const rule of [...reduced.rules].reverse()) {
    // Each check jumps past the rest of this rule's block when it fails.
    const checks: Insn[] = [];
    checks.push([JNE_K, 3, 0, 0, rule.type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR]);
    const mask = accessMask(rule.access);
    if (rule.allow && mask !== 7) {
      // Allowed only if nothing outside the rule's access is asked for.
      checks.push([MOV32_X, 7, 4, 0, 0], [AND32_K, 7, 0, 0, ~mask & 7], [JNE_K, 7, 0, 0, 0]);
    } else if (!rule.allow && mask !== 7) {
      // Denied as soon as any of the rule's access is asked for.
      checks.push([MOV32_X, 7, 4, 0, 0], [AND32_K, 7, 0, 0, mask], [JEQ_K, 7, 0, 0, 0]);
    }
    if (rule.major !== undefined && rule.major !== null && rule.major >= 0) checks.push([JNE_K, 5, 0, 0, rule.major]);
    if (rule.minor !== undefined && rule.minor !== null && rule.minor >= 0) checks.push([JNE_K, 6, 0, 0, rule.minor]);
    const verdict: Insn[] = [
      [MOV32_K, 0, 0, 0, rule.allow ? 1 : 0],
      [EXIT, 0, 0, 0, 0],
    ];
    checks.forEach((insn, i) => {
      if (insn[0] === JNE_K || insn[0] === JEQ_K) insn[3] = checks.length - i - 1 + verdict.length;
    });
    insns.push(...checks, ...verdict);
  }
  insns.push([MOV32_K, 0, 0, 0, reduced.defaultAllow ? 1 : 0], [EXIT, 0, 0, 0, 0]);
  return encode(insns);
}
