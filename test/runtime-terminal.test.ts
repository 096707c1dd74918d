/**
 * Bundles made by `runc spec` (process.terminal true) run under `oci run` with the same
 * observable result as under `runc run` (Debian's runc 1.1.5, a peer); terminals through
 * `run` and `exec -t` (proxied, resized with ours) and through --console-socket.
 */

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Spec } from '@oci/specs';
import test from 'ava';
import { busyboxBundle, busyboxRootfs, uniqueId } from './harness/bundle.js';
import { ociBin } from './harness/cli.js';
import { atTerminal, consoleReceiver, runWithResize } from './harness/pty.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

test('a bundle made by `runc spec` gives the same result under oci run as under runc run', async (t) => {
  const { dir, remove } = tempDir('runc-spec');
  t.teardown(remove);
  await busyboxRootfs(dir);
  t.is(spawnSync('runc', ['spec'], { cwd: dir }).status, 0);
  const spec = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Spec;
  t.true(spec.process!.terminal);
  const script = [
    'echo pid $$',
    'id',
    'hostname',
    'tty',
    // Modes, device numbers and names; not the times, which differ when the runs straddle a minute.
    'ls -l /dev | cut -c1-10,35- | sed -E "s/ [A-Z][a-z]{2} +[0-9]+ +[0-9:]+ / /"',
    'grep -E "^(Cap|NoNewPrivs|Seccomp)" /proc/self/status',
    'ulimit -n',
    'cut -d" " -f5,6 /proc/self/mountinfo',
    'cat /proc/self/cgroup',
    'env | sort',
    'umask',
    'ls /sys/class/net',
    'exit 3',
  ].join('; ');
  spec.process!.args = ['sh', '-c', script];
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  // The same id for both (one after the other), so cgroup paths match too.
  const id = uniqueId('same');
  const runcRoot = tempDir('runc-root');
  t.teardown(runcRoot.remove);
  const expected = atTerminal(['runc', '--root', runcRoot.dir, 'run', id], { cwd: dir });
  const actual = atTerminal([process.execPath, ociBin, '--root', state.root, 'run', id], { cwd: dir });
  t.is(expected.status, 3, expected.output);
  t.is(actual.status, expected.status);
  t.is(actual.output, expected.output);
  t.regex(actual.output, /^\/dev\/pts\/0\r$/m);
  t.regex(actual.output, /^c\S+ +136, +0 console\r$/m, "/dev's times are cut out: the runs may straddle a minute");
});

test('run with process.terminal gives the program a pty and proxies input and output', async (t) => {
  const b = await busyboxBundle(['sh', '-c', 'read line; echo "got $line"; tty; stty size'], (spec) => {
    spec.process!.terminal = true;
    spec.process!.consoleSize = { height: 30, width: 100 };
  });
  t.teardown(b.remove);
  // At a terminal of 30 rows and 100 columns: the container's follows ours.
  const result = atTerminal([process.execPath, ociBin, '--root', state.root, 'run', '--bundle', b.dir, uniqueId('tty')], { input: 'hello\n', size: [30, 100] });
  t.is(result.status, 0, result.output);
  const lines = result.output.split('\r\n');
  t.true(lines.includes('got hello'), result.output);
  t.true(lines.includes('/dev/pts/0'), result.output);
  t.true(lines.includes('30 100'), result.output);
});

test('create --console-socket sends the terminal to the socket; without one it is refused', async (t) => {
  const b = await busyboxBundle(['tty'], (spec) => {
    spec.process!.terminal = true;
  });
  t.teardown(b.remove);
  const dir = tempDir('console');
  t.teardown(dir.remove);
  const socketPath = path.join(dir.dir, 'console.sock');
  const received = new Promise<string>((resolve) => {
    const server = createServer((connection) => {
      let data = '';
      connection.on('data', (chunk) => (data += chunk));
      connection.on('end', () => {
        server.close();
        resolve(data);
      });
    }).listen(socketPath);
  });
  const id = uniqueId('console');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  const create = state.ociDetached(['create', '--bundle', b.dir, '--console-socket', socketPath, id]);
  t.is(create.status, 0, create.stderr);
  // The master travels as SCM_RIGHTS; its message is the slave's name.
  t.regex(await received, /^\/dev\/pts\/\d+$/);

  const other = uniqueId('console');
  const refused = state.ociDetached(['create', '--bundle', b.dir, other]);
  t.is(refused.status, 1);
  t.regex(refused.stderr, /process\.terminal is true: give a --console-socket/);
  t.false(state.exists(other));
  const notListening = state.ociDetached(['create', '--bundle', b.dir, '--console-socket', path.join(dir.dir, 'none.sock'), other]);
  t.regex(notListening.stderr, /console socket .*none\.sock: no such socket \(ENOENT\)/);
  t.false(state.exists(other));
});

/** A running container (without a terminal of its own) to exec into; deleted when the test ends. */
async function running(t: { teardown(fn: () => void): void }) {
  const b = await busyboxBundle(['sleep', '1000']);
  t.teardown(b.remove);
  const id = uniqueId('exec-tty');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  const run = state.ociDetached(['run', '-d', '--bundle', b.dir, id]);
  if (run.status !== 0) throw new Error(`run -d: ${run.stderr}`);
  return id;
}

test('exec -t gives the program a pty in the container and proxies input and output', async (t) => {
  const id = await running(t);
  const result = atTerminal(
    [process.execPath, ociBin, '--root', state.root, 'exec', '-t', id, 'sh', '-c', 'read line; echo "got $line"; tty; test -t 0 && test -t 2 && echo all-tty'],
    { input: 'hello\n' },
  );
  t.is(result.status, 0, result.output);
  const lines = result.output.split('\r\n');
  t.true(lines.includes('got hello'), result.output);
  t.true(lines.includes('/dev/pts/0'), "the first pty of the container's own devpts");
  t.true(lines.includes('all-tty'), result.output);
});

test('exec --tty --console-socket sends the master of a pty opened in the container; the program talks through it', async (t) => {
  const id = await running(t);
  const dir = tempDir('exec-console');
  t.teardown(dir.remove);
  const socketPath = path.join(dir.dir, 'console.sock');
  const receiver = await consoleReceiver(socketPath);
  t.teardown(receiver.stop);
  const exec = state.ociDetached(['exec', '--tty', '--detach', '--console-socket', socketPath, id, 'sh', '-c', 'tty; echo through-the-master']);
  t.is(exec.status, 0, exec.stderr);
  t.is(exec.stdout, '', 'the program writes to its terminal, not to our stdout');
  const received = await receiver.received;
  t.is(received.fds, 1);
  t.regex(received.name, /^\/dev\/pts\/\d+$/);
  t.is(received.output, `${received.name}\r\nthrough-the-master\r\n`);
});

test('a console socket nobody listens on is refused with a clear error, by create and by exec; nothing is left', async (t) => {
  const dir = tempDir('dead-console');
  t.teardown(dir.remove);
  const socketPath = path.join(dir.dir, 'dead.sock');
  // Bound, never listening: what a crashed engine leaves behind.
  t.is(spawnSync('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', socketPath]).status, 0);
  const refused = /console socket .*dead\.sock: nothing listens on it \(ECONNREFUSED\)\n$/;

  const b = await busyboxBundle(['tty'], (spec) => {
    spec.process!.terminal = true;
  });
  t.teardown(b.remove);
  const id = uniqueId('dead-console');
  const create = state.ociDetached(['create', '--bundle', b.dir, '--console-socket', socketPath, id]);
  t.is(create.status, 1);
  t.regex(create.stderr, refused);
  t.false(state.exists(id));

  const container = await running(t);
  const exec = state.ociDetached(['exec', '-t', '-d', '--console-socket', socketPath, container, 'sleep', '100']);
  t.is(exec.status, 255);
  t.regex(exec.stderr, refused);
  t.is(JSON.parse(state.oci(['ps', '--format', 'json', container]).stdout).length, 1, 'only the container init runs');
});

test('a proxied terminal starts at the size of ours and follows it when it is resized: exec -t and run', async (t) => {
  const script = 'stty size; while read line; do stty size; done';
  const id = await running(t);
  const exec = await runWithResize({
    command: [process.execPath, ociBin, '--root', state.root, 'exec', '-t', id, 'sh', '-c', script],
    initial: [30, 100],
    first: '30 100',
    resized: [40, 120],
    afterResize: '40 120',
  });
  t.is(exec.status, 0, exec.output);
  t.regex(exec.output, /^30 100\r\n(\r\n30 100\r\n)*\r\n40 120\r\n/);

  const b = await busyboxBundle(['sh', '-c', script], (spec) => {
    spec.process!.terminal = true;
  });
  t.teardown(b.remove);
  const run = await runWithResize({
    command: [process.execPath, ociBin, '--root', state.root, 'run', '--bundle', b.dir, uniqueId('resize')],
    initial: [25, 90],
    first: '25 90',
    resized: [50, 150],
    afterResize: '50 150',
  });
  t.is(run.status, 0, run.output);
  t.regex(run.output, /\r\n50 150\r\n/);
});
