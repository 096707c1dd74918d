/**
 * tmpfs mounts over directories the image has: the tmpfs takes the directory's mode (as runc
 * does), and with tmpcopyup (runc's extension, which podman puts on every tmpfs it adds) it
 * starts with the directory's contents, owners, modes and symlinks, which the rootfs keeps
 * unchanged.
 */

import { chmodSync, chownSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { busyboxBundle, uniqueId } from './harness/bundle.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

const script = [
  'stat -c "%a %u:%g %n" /data /data/file /data/sub /data/sub/inner',
  'readlink /data/link',
  'cat /data/sub/inner',
  'echo new > /data/new && echo writable',
  'grep " /data " /proc/self/mounts | cut -d" " -f3,4',
  'stat -c "%a %n" /empty',
].join('; ');

async function run(t: { teardown(fn: () => void): void }, options: string[]) {
  const b = await busyboxBundle(['sh', '-c', script], (spec) => {
    spec.mounts!.push(
      { destination: '/data', type: 'tmpfs', source: 'tmpfs', options },
      { destination: '/empty', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] },
    );
  });
  t.teardown(b.remove);
  const data = path.join(b.rootfs, 'data');
  mkdirSync(path.join(data, 'sub'), { recursive: true });
  writeFileSync(path.join(data, 'file'), 'file\n');
  writeFileSync(path.join(data, 'sub', 'inner'), 'inner\n');
  chownSync(path.join(data, 'file'), 1000, 1001);
  chmodSync(path.join(data, 'file'), 0o640);
  chmodSync(path.join(data, 'sub'), 0o710);
  chmodSync(data, 0o750);
  symlinkSync('/etc/passwd', path.join(data, 'link'));
  mkdirSync(path.join(b.rootfs, 'empty'), { mode: 0o700 });
  chmodSync(path.join(b.rootfs, 'empty'), 0o700);
  const result = state.oci(['run', '--bundle', b.dir, uniqueId('tmpfs')]);
  return { ...result, lines: result.stdout.split('\n'), rootfsData: () => readdirSync(data).sort() };
}

test('tmpcopyup: the tmpfs starts with what the directory held, owners, modes and symlinks included', async (t) => {
  const result = await run(t, ['rw', 'nosuid', 'nodev', 'tmpcopyup']);
  t.is(result.status, 0, result.stderr);
  t.deepEqual(result.lines.slice(0, 9), [
    '750 0:0 /data',
    '640 1000:1001 /data/file',
    '710 0:0 /data/sub',
    '644 0:0 /data/sub/inner',
    '/etc/passwd',
    'inner',
    'writable',
    'tmpfs rw,nosuid,nodev,relatime',
    '700 /empty',
  ]);
  t.deepEqual(result.rootfsData(), ['file', 'link', 'sub'], 'the write went to the tmpfs, not the rootfs');
});

test('a read-only tmpfs with tmpcopyup has its contents, and is read-only', async (t) => {
  const result = await run(t, ['ro', 'tmpcopyup']);
  t.is(result.status, 0, result.stderr);
  t.is(result.lines[5], 'inner');
  t.regex(result.stderr, /can't create \/data\/new: Read-only file system/);
  t.regex(result.stdout, /^tmpfs ro,relatime$/m);
});

test('without tmpcopyup the tmpfs is empty, with the mode of the directory it covers', async (t) => {
  const result = await run(t, ['nosuid']);
  t.regex(result.stdout, /^750 0:0 \/data$/m);
  t.regex(result.stderr, /can't open '\/data\/sub\/inner': No such file or directory/);
});
