import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Seccomp } from '@oci/bundle/runtime-spec';
import { seccompOp } from '../src/plan/seccomp.js';

const profile = (names: string[]): Seccomp => ({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], syscalls: [{ names, action: 'SCMP_ACT_ALLOW' }] });

test('a compiled filter is kept in the state root and used again only for the same input', (t) => {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'oci-seccomp-cache-')), '@seccomp');
  t.teardown(() => rmSync(path.dirname(dir), { recursive: true, force: true }));
  const first = seccompOp(profile(['mkdir', 'no_such_syscall_x']), { cacheDir: dir });
  const [entry] = readdirSync(dir);
  t.regex(entry!, /^[0-9a-f]{16}$/);
  const kept = JSON.parse(readFileSync(path.join(dir, entry!), 'utf8')) as { unknown: string[]; program: string };
  t.deepEqual(kept.unknown, ['no_such_syscall_x']);
  t.is(kept.program, first[2] as string);

  // Used again: a planted program under the same key comes back (what makes it a cache).
  writeFileSync(path.join(dir, entry!), JSON.stringify({ ...JSON.parse(readFileSync(path.join(dir, entry!), 'utf8')), program: '00'.repeat(8) }));
  t.is(seccompOp(profile(['mkdir', 'no_such_syscall_x']), { cacheDir: dir })[2] as string, '00'.repeat(8));

  // An entry whose input differs (a hash collision, another libseccomp) is not used.
  const entryData = JSON.parse(readFileSync(path.join(dir, entry!), 'utf8')) as { key: string };
  writeFileSync(path.join(dir, entry!), JSON.stringify({ ...entryData, key: entryData.key.replace('mkdir', 'rmdir') }));
  t.is(seccompOp(profile(['mkdir', 'no_such_syscall_x']), { cacheDir: dir })[2], first[2]);
  // A damaged one is compiled again.
  writeFileSync(path.join(dir, entry!), '{');
  t.is(seccompOp(profile(['mkdir', 'no_such_syscall_x']), { cacheDir: dir })[2], first[2]);

  const other = seccompOp(profile(['rmdir']), { cacheDir: dir });
  t.not(other[2], first[2]);
  t.is(readdirSync(dir).length, 2);
  // The refusal of unknown names still applies to a filter taken from the cache.
  t.throws(() => seccompOp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['no_such_syscall_x'], action: 'SCMP_ACT_ERRNO' }] }, { cacheDir: dir }), { message: /unknown to libseccomp/ });
});
