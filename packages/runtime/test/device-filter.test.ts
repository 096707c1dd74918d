import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { requireAddon } from '@oci/native';
import test from 'ava';
import { deviceFilterProgram, reduceRules } from '../src/cgroups/device-filter.js';
import { readLayout } from '../src/cgroups/layout.js';

test('a rule for all devices resets the list and sets the default', (t) => {
  t.deepEqual(reduceRules([]), { defaultAllow: true, rules: [] });
  const c13 = { allow: true, type: 'c' as const, major: 1, minor: 3, access: 'rwm' };
  t.deepEqual(reduceRules([c13, { allow: false, access: 'rwm' }, c13]), { defaultAllow: false, rules: [c13] });
});

test('the kernel runs the program on a cgroup v2 directory: what it allows opens, the rest is EPERM', (t) => {
  const v2 = readLayout().hierarchies.find((h) => h.version === 2);
  if (!v2) return t.fail('this test needs a cgroup v2 hierarchy (hybrid or unified)');
  const dir = path.join(v2.mountPoint, `oci-device-filter-${process.pid}`);
  mkdirSync(dir);
  t.teardown(() => rmdirSync(dir));
  requireAddon().attachDeviceFilter(
    dir,
    deviceFilterProgram([
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
      { allow: true, type: 'c', major: 1, minor: 5, access: 'r' }, // zero, read only
      { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full…
      { allow: false, type: 'c', major: 1, minor: 7, access: 'w' }, // …but not for writing
    ]),
  );
  const script = [
    `echo $$ > ${dir}/cgroup.procs`,
    'echo > /dev/null && echo null-write',
    'head -c1 /dev/zero > /dev/null && echo zero-read',
    'echo > /dev/zero || echo zero-write-denied',
    'head -c1 /dev/full > /dev/null && echo full-read',
    'echo > /dev/full || echo full-write-denied',
    'head -c1 /dev/urandom > /dev/null || echo urandom-denied',
  ].join('; ');
  const result = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
  t.deepEqual(result.stdout.trim().split('\n'), ['null-write', 'zero-read', 'zero-write-denied', 'full-read', 'full-write-denied', 'urandom-denied']);
  t.regex(result.stderr, /Operation not permitted/);
});
