import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Seccomp } from '@oci/specs';
import test from 'ava';
import { compileSeccomp } from '../src/seccomp/compile.js';
import { enosysPrefix } from '../src/seccomp/enosys.js';

/** The BPF program of a profile, as hex (what the plan's `seccomp` op carries). */
const program = (seccomp: Seccomp, cacheDir?: string) => compileSeccomp(seccomp, { cacheDir }).program.toString('hex');
const profile = (names: string[]): Seccomp => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
  syscalls: [{ names, action: 'SCMP_ACT_ALLOW' }],
});

test('a compiled filter is kept in the state root and used again only for the same input', (t) => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'oci-seccomp-cache-')), '@seccomp');
  t.teardown(() => rmSync(path.dirname(dir), { recursive: true, force: true }));
  const first = program(profile(['mkdir', 'no_such_syscall_x']), dir);
  const [entry] = readdirSync(dir);
  t.regex(entry!, /^[0-9a-f]{16}$/);
  const kept = JSON.parse(readFileSync(path.join(dir, entry!), 'utf8')) as { unknown: string[]; program: string };
  t.deepEqual(kept.unknown, ['no_such_syscall_x']);
  t.is(kept.program, first);

  // Used again: a planted program under the same key comes back (what makes it a cache).
  writeFileSync(path.join(dir, entry!), JSON.stringify({ ...JSON.parse(readFileSync(path.join(dir, entry!), 'utf8')), program: '00'.repeat(8) }));
  t.is(program(profile(['mkdir', 'no_such_syscall_x']), dir), '00'.repeat(8));

  // An entry whose input differs (a hash collision, another libseccomp) is not used.
  const entryData = JSON.parse(readFileSync(path.join(dir, entry!), 'utf8')) as { key: string };
  writeFileSync(path.join(dir, entry!), JSON.stringify({ ...entryData, key: entryData.key.replace('mkdir', 'rmdir') }));
  t.is(program(profile(['mkdir', 'no_such_syscall_x']), dir), first);
  // A damaged one is compiled again.
  writeFileSync(path.join(dir, entry!), '{');
  t.is(program(profile(['mkdir', 'no_such_syscall_x']), dir), first);

  const other = program(profile(['rmdir']), dir);
  t.not(other, first);
  t.is(readdirSync(dir).length, 2);
  // The refusal of unknown names still applies to a filter taken from the cache.
  t.throws(() => program({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['no_such_syscall_x'], action: 'SCMP_ACT_ERRNO' }] }, dir), {
    message: /unknown to libseccomp/,
  });
});

/** Runs classic BPF as the kernel would, for the few instructions the ENOSYS prefix uses. */
function evaluate(program: Buffer, arch: number, nr: number): number | 'filter' {
  let a = 0;
  for (let pc = 0; pc < program.length / 8; pc++) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) a = k === 4 ? arch : nr;
    else if (code === 0x06) return k;
    else if (code === 0x05) pc += k;
    else pc += (code === 0x15 ? a === k : code === 0x25 ? a > k : code === 0x35 ? a >= k : false) ? jt : jf;
    if (pc + 1 >= program.length / 8) return 'filter';
  }
  return 'filter';
}

test('the ENOSYS prefix: above the newest syscall a profile names, per architecture (x32 apart), ENOSYS; the rest to the filter', (t) => {
  const names = ['read', 'mkdir', 'clone3', 'no_such_syscall_x'];
  const prefix = enosysPrefix(['x86', 'x32'], names);
  const X86_64 = 0xc000003e;
  const I386 = 0x40000003;
  const ENOSYS = 0x50026;
  t.is(evaluate(prefix, X86_64, 435), 'filter'); // clone3, the newest named
  t.is(evaluate(prefix, X86_64, 100), 'filter');
  t.is(evaluate(prefix, X86_64, 436), ENOSYS);
  t.is(evaluate(prefix, X86_64, 0x4000_0000 + 435), 'filter'); // x32's clone3
  t.is(evaluate(prefix, X86_64, 0x4000_0000 + 436), ENOSYS);
  t.is(evaluate(prefix, I386, 435), 'filter');
  t.is(evaluate(prefix, I386, 436), ENOSYS);
  t.is(evaluate(prefix, 0xc00000b7, 10_000), 'filter'); // aarch64: not in this filter, libseccomp decides
  // Without x32 in the filter, x32 numbers are libseccomp's to judge.
  t.is(evaluate(enosysPrefix([], names), X86_64, 0x4000_0000 + 500), 'filter');
  t.is(enosysPrefix([], ['no_such_syscall_x']).length, 0);
  // Put before libseccomp's program when the default refuses with another errno, not otherwise.
  const withPrefix = program({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
  const without = program({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
  t.is(withPrefix.length - without.length, enosysPrefix([], ['read']).length * 2);
  const allowing = program({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  t.is(evaluate(Buffer.from(allowing, 'hex'), X86_64, 0), 0x7fff0000, "no prefix: libseccomp's program decides");
});

test('two profiles whose rules agree but whose ENOSYS prefixes differ do not share a cache entry', (t) => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'oci-seccomp-cache-')), '@seccomp');
  t.teardown(() => rmSync(path.dirname(dir), { recursive: true, force: true }));
  // clone3's rule has the default action, so it is no rule of the filter; it still names clone3
  // for the prefix, which answers ENOSYS only above the newest syscall the profile names.
  const withClone3: Seccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['read'], action: 'SCMP_ACT_ALLOW' },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO' },
    ],
  };
  const without: Seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] };
  const uncached = program(without);
  t.not(program(withClone3), uncached);
  program(withClone3, dir);
  t.is(program(without, dir), uncached);
});
