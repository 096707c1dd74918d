import { spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { helperPath, requireAddon } from '../src/index.js';

test('the helper executable is built and runs', (t) => {
  const result = spawnSync(helperPath(), ['--version'], { encoding: 'utf8' });
  t.is(result.status, 0, result.stderr);
  t.regex(result.stdout, /^oci-helper \d+\.\d+\.\d+ \(protocol \d+\)\n$/);
});

test('the helper rejects arguments it does not know with exit 2', (t) => {
  const result = spawnSync(helperPath(), ['--bogus'], { encoding: 'utf8' });
  t.is(result.status, 2);
  t.regex(result.stderr, /usage/);
});

test('the addon makes fifos and character devices', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-native-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const addon = requireAddon();

  addon.mknod(path.join(dir, 'fifo'), constants.S_IFIFO | 0o640, 0, 0);
  const fifo = statSync(path.join(dir, 'fifo'));
  t.true(fifo.isFIFO());
  t.is(fifo.mode & 0o777, 0o640 & ~process.umask());

  addon.mknod(path.join(dir, 'null'), constants.S_IFCHR | 0o666, 1, 3);
  const device = statSync(path.join(dir, 'null'));
  t.true(device.isCharacterDevice());
  t.is(device.rdev, (1 << 8) | 3);
});

test('addon errors carry the errno code like fs errors', (t) => {
  const error = t.throws(() => requireAddon().mknod('/nonexistent-dir/x', constants.S_IFIFO | 0o600, 0, 0));
  t.is((error as NodeJS.ErrnoException).code, 'ENOENT');
  t.is((error as NodeJS.ErrnoException).syscall, 'mknod');
});

test('startWriteback takes a range of a file, and fails like fs on what is not one', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-native-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { startWriteback } = requireAddon();
  const file = openSync(path.join(dir, 'blob'), 'w');
  t.teardown(() => closeSync(file));
  writeSync(file, Buffer.alloc(1 << 20, 1));
  t.notThrows(() => startWriteback(file, 0, 1 << 20));
  requireAddon().mknod(path.join(dir, 'fifo'), constants.S_IFIFO | 0o600, 0, 0);
  const fifo = openSync(path.join(dir, 'fifo'), constants.O_RDWR); // O_RDWR: a fifo's open does not wait for a peer
  t.teardown(() => closeSync(fifo));
  const error = t.throws(() => startWriteback(fifo, 0, 1));
  t.is((error as NodeJS.ErrnoException).code, 'ESPIPE');
  t.is((error as NodeJS.ErrnoException).syscall, 'sync_file_range');
});

test('the addon sets, reads and lists extended attributes without following symlinks', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-native-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const addon = requireAddon();
  const file = path.join(dir, 'file');
  writeFileSync(file, '');
  symlinkSync('file', path.join(dir, 'link'));
  addon.lsetxattr(file, 'user.answer', Buffer.from([0, 42, 255]));
  t.deepEqual(addon.lgetxattr(file, 'user.answer'), Buffer.from([0, 42, 255]));
  t.deepEqual(addon.llistxattr(file), ['user.answer']);
  t.deepEqual(addon.llistxattr(path.join(dir, 'link')), [], 'the symlink itself has none');
  const error = t.throws(() => addon.lgetxattr(file, 'user.absent'));
  t.is((error as NodeJS.ErrnoException).code, 'ENODATA');
});

test('resolveInRoot keeps "..", absolute paths and symlinks inside the root', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-native-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { resolveInRoot } = requireAddon();
  mkdirSync(path.join(dir, 'usr/lib'), { recursive: true });
  symlinkSync('/usr', path.join(dir, 'abs'));
  symlinkSync('../../../../..', path.join(dir, 'usr/up'));
  symlinkSync('/proc/self/root', path.join(dir, 'magic'));
  t.is(resolveInRoot(dir, 'usr/lib'), path.join(dir, 'usr/lib'));
  t.is(resolveInRoot(dir, 'abs/lib'), path.join(dir, 'usr/lib'), 'an absolute symlink is taken from the root');
  t.is(resolveInRoot(dir, '../../..'), dir, '".." stops at the root');
  t.is(resolveInRoot(dir, '/usr/up/usr'), path.join(dir, 'usr'));
  t.is((t.throws(() => resolveInRoot(dir, 'missing')) as NodeJS.ErrnoException).code, 'ENOENT');
  t.is((t.throws(() => resolveInRoot(dir, 'magic')) as NodeJS.ErrnoException).code, 'ENOENT');
});

test('paths as Buffers keep names that are not UTF-8: resolveInRoot answers in bytes, mknod and xattrs take them', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-native-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { resolveInRoot, mknod, lsetxattr, lgetxattr } = requireAddon();
  const bytes = (name: string) => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name, 'latin1')]);
  mkdirSync(bytes('caf\xe9'));
  symlinkSync(Buffer.from('/caf\xe9', 'latin1'), bytes('link\xff'));
  t.deepEqual(resolveInRoot(dir, Buffer.from('link\xff', 'latin1')), bytes('caf\xe9'));
  mknod(bytes('caf\xe9/fifo\xfe'), 0o10600, 0, 0);
  t.true(lstatSync(bytes('caf\xe9/fifo\xfe')).isFIFO());
  lsetxattr(bytes('caf\xe9'), 'user.k', Buffer.from('v')); // user.* xattrs: files and directories only
  t.deepEqual(lgetxattr(bytes('caf\xe9'), 'user.k'), Buffer.from('v'));
  t.throws(() => resolveInRoot(dir, Buffer.from('a\0b')), { instanceOf: TypeError, message: 'a path must not contain NUL' });
});

test('mountOverlay: an overlay attached to no path, reached through its fd, gone once the fd is closed; resolveInRoot answers inside it', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-native-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const sub of ['lower/etc', 'upper', 'work']) mkdirSync(path.join(dir, sub), { recursive: true });
  writeFileSync(path.join(dir, 'lower/etc/gone'), 'lower');
  const addon = requireAddon();
  const fd = addon.mountOverlay({ lower: [path.join(dir, 'lower')], upper: path.join(dir, 'upper'), work: path.join(dir, 'work') });
  const root = `/proc/self/fd/${fd}`;
  t.is(addon.resolveInRoot(root, 'etc/../etc'), `${root}/etc`);
  rmSync(`${root}/etc/gone`);
  writeFileSync(`${root}/etc/new`, 'through the overlay');
  t.false(readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), 'in no mount table');
  closeSync(fd);
  const whiteout = lstatSync(path.join(dir, 'upper/etc/gone'));
  t.true(whiteout.isCharacterDevice() && whiteout.rdev === 0, 'overlayfs wrote the whiteout');
  t.is(readFileSync(path.join(dir, 'upper/etc/new'), 'utf8'), 'through the overlay');
  const error = t.throws(() => addon.mountOverlay({ lower: [path.join(dir, 'missing')] }));
  t.is((error as NodeJS.ErrnoException).code, 'ENOENT');
  t.regex(error!.message, /lowerdir .*missing/);
});
