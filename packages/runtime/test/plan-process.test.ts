/** The process's own settings in a plan: capabilities, rlimits, and HOME. */

import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { homeOf, resolveInRoot } from '../src/home.js';
import { credentialsOp, environment, rlimitOps } from '../src/plan/process.js';

test('capability sets become masks; ambient keeps only what is permitted and inheritable', (t) => {
  const unknown: string[] = [];
  const op = credentialsOp(
    {
      cwd: '/',
      user: { uid: 1, gid: 2, additionalGids: [3, 4] },
      capabilities: {
        bounding: ['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_CHECKPOINT_RESTORE', 'CAP_BOGUS'],
        permitted: ['CAP_CHOWN', 'CAP_KILL'],
        inheritable: ['CAP_KILL'],
        ambient: ['CAP_CHOWN', 'CAP_KILL'],
      },
    },
    { lastCap: 39, onUnknown: (name) => unknown.push(name) },
  );
  // CAP_CHECKPOINT_RESTORE (40) is past this kernel's last capability: dropped.
  t.deepEqual(op, ['credentials', 1, 2, '3,4', (1n << 0n) | (1n << 21n), 0n, (1n << 0n) | (1n << 5n), 1n << 5n, 1n << 5n]);
  t.deepEqual(unknown, ['CAP_BOGUS']);
});

test('rlimits: names to numbers, infinity, and refusals', (t) => {
  t.deepEqual(rlimitOps({ cwd: '/', user: { uid: 0, gid: 0 }, rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2 ** 64 }] }), [
    ['rlimit', 7, 1024n, 0xffff_ffff_ffff_ffffn],
  ]);
  const rlimits = (list: { type: string; soft: number; hard: number }[]) => () => rlimitOps({ cwd: '/', user: { uid: 0, gid: 0 }, rlimits: list });
  t.throws(rlimits([{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }]), { message: /unknown type 'RLIMIT_BOGUS'/ });
  t.throws(
    rlimits([
      { type: 'RLIMIT_CORE', soft: 1, hard: 1 },
      { type: 'RLIMIT_CORE', soft: 1, hard: 1 },
    ]),
    { message: /listed twice/ },
  );
  t.throws(rlimits([{ type: 'RLIMIT_CORE', soft: 2, hard: 1 }]), { message: /soft limit 2 is above hard limit 1/ });
});

test("HOME comes from the rootfs's passwd, resolved inside the rootfs", (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'oci-home-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'etc'));
  mkdirSync(path.join(root, 'shadow'));
  writeFileSync(path.join(root, 'shadow', 'passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  // An absolute link that would leave the rootfs on the host resolves inside it.
  symlinkSync('/../../../shadow/passwd', path.join(root, 'etc', 'passwd'));
  t.is(resolveInRoot(root, '/etc/passwd'), path.join(root, 'shadow', 'passwd'));
  t.is(homeOf(root, 1000), '/home/app');
  t.is(homeOf(root, 4242), '/');
  t.deepEqual(environment({ cwd: '/', user: { uid: 0, gid: 0 }, env: ['HOME=/x'] }, '/root'), ['HOME=/x']);
});
