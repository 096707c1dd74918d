/** The addon's process and fd calls the runtime builds on. */

import { spawn as spawnNode, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { helperPath, requireAddon } from '../src/index.js';

const addon = requireAddon();

const readAll = (fd: number) =>
  new Promise<string>((resolve) => {
    const socket = new Socket({ fd, readable: true, writable: false });
    let text = '';
    socket.on('data', (chunk) => (text += chunk));
    socket.on('close', () => resolve(text));
  });

test('sealedCopy holds the file, executes, and refuses writes', (t) => {
  const fd = addon.sealedCopy(helperPath());
  t.teardown(() => closeSync(fd));
  t.deepEqual(readFileSync(`/proc/self/fd/${fd}`), readFileSync(helperPath()));
  t.is(spawnSync(`/proc/${process.pid}/fd/${fd}`, ['--version']).status, 0);
  const error = t.throws(() => writeSync(fd, 'x', 0));
  t.is((error as NodeJS.ErrnoException).code, 'EPERM');
});

test('spawn puts each fd at its index, closes the rest, and resets what Node set (SIGPIPE)', async (t) => {
  const [ours, theirs] = addon.socketpair();
  const devNull = openSync('/dev/null', 'r+');
  // The socket goes to fd 3 even though fd 3 of ours is something else.
  const pid = addon.spawn('/bin/sh', ['sh', '-c', 'ls /proc/self/fd >&3; grep SigIgn /proc/self/status >&3'], [devNull, devNull, devNull, theirs]);
  closeSync(theirs);
  closeSync(devNull);
  const output = await readAll(ours);
  t.true(pid > 0);
  // ls lists one more: the fd of the directory it reads.
  const fds = output
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number)
    .sort((x, y) => x - y);
  t.deepEqual(fds, [0, 1, 2, 3, 4]);
  // SIGPIPE (13), which Node ignores, is back to its default.
  const ignored = BigInt(`0x${/SigIgn:\s+(\w+)/.exec(output)![1]}`);
  t.is(ignored & (1n << 12n), 0n);
});

test('a pidfd signals its process, tells when it exited, and reaps our child', async (t) => {
  const pid = addon.spawn('/bin/sleep', ['sleep', '30'], [0, 1, 2]);
  const pidfd = addon.pidfdOpen(pid);
  t.teardown(() => closeSync(pidfd));
  t.is(addon.reap(pidfd), null);
  const exited = new Promise<void>((resolve) => addon.onReadable(pidfd, resolve));
  addon.pidfdSendSignal(pidfd, 9);
  await exited;
  t.deepEqual(addon.reap(pidfd), { signal: 9 });
  // A grandchild is not our child: how it ends is its parent's to know.
  const shell = spawnNode('sh', ['-c', 'sleep 30 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => shell.kill('SIGKILL'));
  const grandchild = Number(await new Promise<string>((resolve) => shell.stdout.once('data', (chunk: Buffer) => resolve(String(chunk)))));
  const otherFd = addon.pidfdOpen(grandchild);
  t.teardown(() => {
    addon.pidfdSendSignal(otherFd, 9);
    closeSync(otherFd);
  });
  t.throws(() => addon.reap(otherFd), { code: 'ECHILD' });
});

test('receiveFd answers EAGAIN when no fd is queued (the runtime tests the real exchange)', (t) => {
  const [a, b] = addon.socketpair();
  t.teardown(() => {
    for (const fd of [a, b]) closeSync(fd);
  });
  t.throws(() => addon.receiveFd(a), { code: 'EAGAIN' });
});

test('tryLock is exclusive across open files, and a close releases it', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = openSync(dir, 'r');
  const second = openSync(dir, 'r');
  t.true(addon.tryLock(first));
  t.false(addon.tryLock(second));
  closeSync(first);
  t.true(addon.tryLock(second));
  closeSync(second);
});

test('bindAbstract holds an abstract name against another bind and against node:net, until its fd is closed; the fd is close-on-exec', async (t) => {
  const name = `oci-test/${process.pid}/${Date.now()}`;
  const fd = addon.bindAbstract(name);
  t.true(fd >= 0);
  t.is(addon.bindAbstract(name), -1, 'a second bind of the name is refused');
  const { createServer } = await import('node:net');
  const listen = () =>
    new Promise<string>((resolve) => {
      const server = createServer();
      server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      server.listen({ path: `\0${name}` }, () => server.close(() => resolve('bound')));
    });
  t.is(await listen(), 'EADDRINUSE', "node:net's server is refused the same name (the store's locks of both kinds exclude each other)");
  t.regex(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'), /^flags:\s*0*2[0-7]{6}$/m, 'O_CLOEXEC');
  closeSync(fd);
  t.is(await listen(), 'bound', 'free once the fd is closed');
  const again = addon.bindAbstract(name);
  t.true(again >= 0);
  closeSync(again);
});

test('createHash hashes strings (as UTF-8) and the bytes views show, piece by piece, to the hex node:crypto gives, once', async (t) => {
  const { createHash } = await import('node:crypto');
  const bytes = Buffer.from('0123456789é'.repeat(100));
  const view = bytes.subarray(7, 901);
  t.is(addon.createHash('sha256').update('ab é').digest(), createHash('sha256').update('ab é').digest('hex'));
  t.is(addon.createHash('sha512').update(view).digest(), createHash('sha512').update(view).digest('hex'));
  const pieces = addon.createHash('sha256').update(view.subarray(0, 100)).update('x').update(view.subarray(100));
  const whole = createHash('sha256').update(view.subarray(0, 100)).update('x').update(view.subarray(100)).digest('hex');
  t.is(pieces.digest(), whole);
  t.is(pieces.digest(), '', 'a digest is given once');
  t.is(addon.createHash('sha256').update(new Uint8Array(0)).digest(), createHash('sha256').digest('hex'));
  t.throws(() => addon.createHash('md5' as 'sha256'), { instanceOf: TypeError, message: /sha256 or sha512/ });
  t.throws(() => addon.createHash('sha256').update(7 as unknown as string), { instanceOf: TypeError, message: /update\(data/ });
});

test("exitNow ends the process at once with its status: no 'exit' listener, no output after it", (t) => {
  const index = new URL('../src/index.js', import.meta.url).href;
  const script = `
    const { loadAddon, loadedAddon } = await import(${JSON.stringify(index)});
    if (loadedAddon() !== null) throw new Error('loaded before anyone asked');
    const addon = loadAddon();
    if (loadedAddon() !== addon) throw new Error('loadedAddon is not the addon loadAddon gave');
    process.on('exit', () => console.log('exit listener'));
    addon.exitNow(7);
    console.log('after exitNow');`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  t.is(result.stderr, '');
  t.is(result.status, 7);
  t.is(result.stdout, '');
});
