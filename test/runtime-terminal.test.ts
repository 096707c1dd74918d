/**
 * Bundles made by `runc spec` (process.terminal true) run under `oci run` with the same
 * observable result as under `runc run` (Debian's runc 1.1.5, a peer); terminals through
 * `run` and through --console-socket.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Spec } from '@oci/bundle/runtime-spec';
import { busyboxBundle, busyboxRootfs, uniqueId } from './harness/bundle.js';
import { ociBin } from './harness/cli.js';
import { stateRoot, type StateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

/** Runs a command on a fresh pty (util-linux `script`), as a user at a terminal would. */
function atTerminal(command: string[], cwd: string) {
  const line = command.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  const result = spawnSync('script', ['-qec', line, '/dev/null'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // script echoes its stdin's end as ^@ (NUL) at a moment that depends on timing.
  return { status: result.status, output: result.stdout.replaceAll('\0', '').replaceAll('^@', '') };
}

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
    'ls -l /dev | cut -c1-10,35-',
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
  const expected = atTerminal(['runc', '--root', runcRoot.dir, 'run', id], dir);
  const actual = atTerminal([process.execPath, ociBin, '--root', state.root, 'run', id], dir);
  t.is(expected.status, 3, expected.output);
  t.is(actual.status, expected.status);
  t.is(actual.output, expected.output);
  t.regex(actual.output, /^\/dev\/pts\/0\r$/m);
});

test('run with process.terminal gives the program a pty and proxies input and output', async (t) => {
  const b = await busyboxBundle(['sh', '-c', 'read line; echo "got $line"; tty; stty size'], (spec) => {
    spec.process!.terminal = true;
    spec.process!.consoleSize = { height: 30, width: 100 };
  });
  t.teardown(b.remove);
  const result = spawnSync(process.execPath, [ociBin, '--root', state.root, 'run', '--bundle', b.dir, uniqueId('tty')], { input: 'hello\n', encoding: 'utf8' });
  t.is(result.status, 0, result.stderr);
  const lines = result.stdout.split('\r\n');
  t.true(lines.includes('got hello'), result.stdout);
  t.true(lines.includes('/dev/pts/0'), result.stdout);
  t.true(lines.includes('30 100'), result.stdout);
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
  t.regex(notListening.stderr, /console socket .*none\.sock: ENOENT/);
  t.false(state.exists(other));
});
