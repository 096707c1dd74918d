/**
 * Container escapes of the kinds runc has had CVEs for, tried against oci: a working directory
 * reached through an fd of the host (CVE-2024-21626), and mounts redirected by the image's own
 * symlinks (CVE-2025-31133: a /dev/null that is not the null device; /dev/console as a symlink).
 * Where Debian's runc 1.1.5 refuses too, the test runs it on the same bundle.
 */

import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { testBundle, uniqueId } from './harness/bundle.js';
import { ociBin } from './harness/cli.js';
import { atTerminal } from './harness/pty.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
let runcRoot: { dir: string; remove(): void };
test.before(() => {
  state = stateRoot();
  runcRoot = tempDir('runc');
});
test.after.always(() => {
  state?.remove();
  runcRoot?.remove();
});

/** Where an escape succeeds, the program may wait on what it reached (and as pid 1 ignore
    SIGTERM): no call waits longer than this. */
const BOUNDED = { timeout: 30_000, killSignal: 'SIGKILL' } as const;

const runc = (args: readonly string[]) =>
  spawnSync('runc', ['--root', runcRoot.dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...BOUNDED });

/** The fds a leak would show up at: the helper's own few, and some. */
const FDS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

test('exec: a cwd through /proc/self/fd never reaches a directory of the host, as given or planted as a symlink; runc refuses too', async (t) => {
  const b = await testBundle(t, ['sleep', '1000']);
  for (const fd of FDS) symlinkSync(`/proc/self/fd/${fd}`, path.join(b.rootfs, `app${fd}`));
  const id = uniqueId('escape');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  t.is(state.ociDetached(['run', '-d', '--bundle', b.dir, id]).status, 0);
  const runcId = uniqueId('escape-runc');
  t.teardown(() => void runc(['delete', '--force', runcId]));
  // Detached, its container would hold a pipe open for good.
  t.is(spawnSync('runc', ['--root', runcRoot.dir, 'run', '-d', '--bundle', b.dir, runcId], { stdio: 'ignore' }).status, 0);

  for (const fd of FDS) {
    for (const cwd of [`/proc/self/fd/${fd}`, `/app${fd}`]) {
      const ours = state.oci(['exec', '--cwd', cwd, id, 'sh', '-c', 'echo ran in $(pwd)'], BOUNDED);
      t.not(ours.status, 0, `oci exec --cwd ${cwd}: ${ours.stdout}`);
      t.false(ours.stdout.includes('ran in'), `oci exec --cwd ${cwd} ran: ${ours.stdout}`);
      t.regex(ours.stderr, /^oci: exec .*chdir to cwd/m);
      t.not(runc(['exec', '--cwd', cwd, runcId, 'true']).status, 0, `runc exec --cwd ${cwd}`);
    }
  }
});

test('exec: a directory fd of the host passed on purpose (--preserve-fds) is refused as the cwd', async (t) => {
  const b = await testBundle(t, ['sleep', '1000']);
  const id = uniqueId('escape');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  t.is(state.ociDetached(['run', '-d', '--bundle', b.dir, id]).status, 0);
  const hostDir = tempDir('host');
  t.teardown(hostDir.remove);
  writeFileSync(path.join(hostDir.dir, 'host-only'), '');
  const fd = openSync(hostDir.dir, 'r');
  try {
    const result = spawnSync(ociBin, ['--root', state.root, 'exec', '--preserve-fds', '1', '--cwd', '/proc/self/fd/3', id, 'ls'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe', fd],
      ...BOUNDED,
    });
    t.not(result.status, 0);
    t.false(result.stdout.includes('host-only'), result.stdout);
    t.regex(result.stderr, /chdir to cwd \/proc\/self\/fd\/3: it is outside the container's root/);
  } finally {
    closeSync(fd);
  }
});

/** A bundle without a tmpfs on /dev: the image's own /dev is what the container gets. */
async function imageDevBundle(t: Parameters<typeof testBundle>[0], args: string[], terminal = false) {
  return testBundle(t, args, (spec) => {
    spec.mounts = spec.mounts!.filter((m) => m.destination !== '/dev');
    spec.process!.terminal = terminal;
  });
}

test('a masked file is never covered by what an image planted as /dev/null: create refuses it', async (t) => {
  const b = await imageDevBundle(t, ['cat', '/proc/keys']);
  const dev = path.join(b.rootfs, 'dev');
  rmSync(dev, { recursive: true, force: true });
  mkdirSync(dev);
  symlinkSync('/proc/sys/kernel/hostname', path.join(dev, 'null'));
  const id = uniqueId('mask');
  const result = state.oci(['run', '--bundle', b.dir, id], { input: '', ...BOUNDED });
  t.not(result.status, 0, result.stdout);
  t.regex(result.stderr, /^oci: run .*mask \/proc\/\S+: \/dev\/null is a symlink, not the null device$/m);
  t.false(state.exists(id));

  // A /dev/null that is the null device is bound over the masked files, as before.
  rmSync(path.join(dev, 'null'));
  const masked = state.oci(['run', '--bundle', b.dir, uniqueId('mask')], { input: '', ...BOUNDED });
  t.is(masked.status, 0, masked.stderr);
  t.is(masked.stdout, '');
});

test('/dev/console planted as a symlink is replaced, not followed: the terminal never covers its target', async (t) => {
  const script = 'stat -c %F /victim /dev/console; cat /victim';
  const b = await imageDevBundle(t, ['sh', '-c', script], true);
  writeFileSync(path.join(b.rootfs, 'victim'), 'untouched\n');
  mkdirSync(path.join(b.rootfs, 'dev'), { recursive: true });
  rmSync(path.join(b.rootfs, 'dev', 'console'), { force: true });
  symlinkSync('/victim', path.join(b.rootfs, 'dev', 'console'));
  const result = atTerminal([ociBin, '--root', state.root, 'run', '--bundle', b.dir, uniqueId('console')], { timeout: BOUNDED.timeout });
  t.is(result.status, 0, result.output);
  t.deepEqual(result.output.split('\r\n').filter(Boolean), ['regular file', 'character special file', 'untouched']);
  t.is(readFileSync(path.join(b.rootfs, 'victim'), 'utf8'), 'untouched\n');
});
