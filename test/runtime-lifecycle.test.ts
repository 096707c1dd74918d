/**
 * The lifecycle through the `oci` command, as engines drive it: create (the program does not
 * run), start, state created → running → stopped, kill, delete, exit codes of `run`, pid files,
 * list, and a failed create leaving nothing behind.
 */

import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { type TestBundle, testBundle, uniqueId } from './harness/bundle.js';
import { oci, ociBin } from './harness/cli.js';
import { eventually, type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

/** A created container; deleted (forcibly) when the test ends, whatever happened. */
async function created(
  t: { teardown(fn: () => void): void; is(a: unknown, b: unknown, m?: string): void },
  args: string[],
  adjust?: (spec: TestBundle['spec']) => void,
) {
  const b = await testBundle(t, args, adjust);
  const id = uniqueId('life');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  const result = state.ociDetached(['create', '--bundle', b.dir, id]);
  t.is(result.status, 0, result.stderr);
  return { id, bundle: b };
}

const stateOf = (id: string) => JSON.parse(state.oci(['state', id]).stdout) as { status: string; pid: number; [k: string]: unknown };

test('create does not run the program until start', async (t) => {
  const out = tempDir('out');
  t.teardown(out.remove);
  const marker = path.join(out.dir, 'marker');
  // Written aside and renamed: the marker appears whole.
  const { id } = await created(t, ['sh', '-c', 'echo ran > /out/.marker && mv /out/.marker /out/marker'], (spec) => {
    spec.mounts!.push({ destination: '/out', type: 'bind', source: out.dir, options: ['rbind', 'rw'] });
  });
  t.is(stateOf(id).status, 'created');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.false(existsSync(marker));
  const start = state.oci(['start', id]);
  t.is(start.status, 0, start.stderr);
  await eventually(() => existsSync(marker));
  t.is(readFileSync(marker, 'utf8'), 'ran\n');
});

test('state moves created → running → stopped, with the fields of the runtime spec', async (t) => {
  const { id, bundle: b } = await created(t, ['sleep', '30'], (spec) => {
    spec.annotations = { 'org.example.key': 'value' };
  });
  const first = stateOf(id);
  t.like(first, { id, status: 'created', bundle: b.dir, rootfs: b.rootfs, annotations: { 'org.example.key': 'value' } });
  t.regex(first.ociVersion as string, /^1\.\d+\.\d+$/);
  t.true(first.pid > 1);
  t.false(Number.isNaN(Date.parse(first.created as string)));
  t.is(state.oci(['start', id]).status, 0);
  t.like(stateOf(id), { status: 'running', pid: first.pid });
  t.is(state.oci(['kill', id, 'KILL']).status, 0);
  await eventually(() => stateOf(id).status === 'stopped');
  t.is(stateOf(id).pid, 0);
});

test('kill takes signal names and numbers; --all reaches every process', async (t) => {
  // pid 1 of a pid namespace only gets the signals it handles: the shell traps TERM.
  const { id } = await created(t, ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1 & wait; done']);
  t.is(state.oci(['start', id]).status, 0);
  t.is(state.oci(['kill', id, 'SIGTERM']).status, 0);
  await eventually(() => stateOf(id).status === 'stopped');

  const other = await created(t, ['sh', '-c', 'sleep 30 & sleep 30 & wait']);
  t.is(state.oci(['start', other.id]).status, 0);
  const cgroup = state.cgroups(other.id)[0]!;
  await eventually(() => readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').trim().split('\n').length === 3);
  t.is(state.oci(['kill', '--all', other.id, '9']).status, 0);
  await eventually(() => readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').trim() === '');
  t.is(stateOf(other.id).status, 'stopped');
});

test('delete removes the state and the cgroups; a running container needs --force', async (t) => {
  const { id } = await created(t, ['sleep', '30']);
  const cgroups = state.cgroups(id);
  t.true(cgroups.length > 0 && cgroups.every((dir) => existsSync(dir)));
  t.is(state.oci(['start', id]).status, 0);
  const refused = state.oci(['delete', id]);
  t.is(refused.status, 1);
  t.regex(refused.stderr, /^oci: delete \S+: cannot delete container \S+ that is not stopped/);
  t.is(stateOf(id).status, 'running');
  t.is(state.oci(['delete', '--force', id]).status, 0);
  t.false(state.exists(id));
  t.deepEqual(
    cgroups.filter((dir) => existsSync(dir)),
    [],
  );
  t.regex(state.oci(['state', id]).stderr, /does not exist/);
});

test('delete of a created container kills its waiting process, as runc does', async (t) => {
  const { id } = await created(t, ['true']);
  const pid = stateOf(id).pid;
  t.is(state.oci(['delete', id]).status, 0);
  t.false(existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '));
  t.false(state.exists(id));
});

test("run exits with the program's exit code, or 128+N when signal N killed it", async (t) => {
  const b = await testBundle(t, ['sh', '-c', 'echo out; echo err >&2; exit 42']);
  const result = state.oci(['run', '--bundle', b.dir, uniqueId('exit')]);
  t.is(result.status, 42);
  t.is(result.stdout, 'out\n');
  t.is(result.stderr, 'err\n');

  const sleeper = await testBundle(t, ['sleep', '30']);
  const id = uniqueId('killed');
  const child = spawn(process.execPath, [ociBin, '--root', state.root, 'run', '--bundle', sleeper.dir, id], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await eventually(() => state.oci(['state', id]).stdout.includes('"running"'));
  t.is(state.oci(['kill', id, 'KILL']).status, 0);
  t.is(await exited, 128 + 9);
  t.false(state.exists(id), 'run deletes the container after it exits');
});

test('run forwards the signals it gets to the container', async (t) => {
  const b = await testBundle(t, ['sh', '-c', 'trap "exit 3" INT; while :; do sleep 1 & wait; done']);
  const id = uniqueId('fwd');
  const child = spawn(process.execPath, [ociBin, '--root', state.root, 'run', '--bundle', b.dir, id], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await eventually(() => state.oci(['state', id]).stdout.includes('"running"'));
  child.kill('SIGINT');
  t.is(await exited, 3);
});

test('create writes the pid file; list shows the containers', async (t) => {
  const dir = tempDir('pid');
  t.teardown(dir.remove);
  const b = await testBundle(t, ['sleep', '30']);
  const id = uniqueId('pidfile');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  const pidFile = path.join(dir.dir, 'init.pid');
  t.is(state.ociDetached(['create', '--bundle', b.dir, '--pid-file', pidFile, id]).status, 0);
  t.is(Number(readFileSync(pidFile, 'utf8')), stateOf(id).pid);
  const list = JSON.parse(state.oci(['list', '--format', 'json']).stdout) as { id: string; status: string }[];
  t.like(
    list.find((c) => c.id === id),
    { status: 'created' },
  );
  t.true(state.oci(['list', '-q']).stdout.split('\n').includes(id));
  t.regex(state.oci(['list']).stdout, new RegExp(`^${id}\\s+\\d+\\s+created\\s`, 'm'));
});

test('a failed create names the step and errno, and leaves nothing behind', async (t) => {
  const b = await testBundle(t, ['true'], (spec) => {
    spec.mounts!.push({ destination: '/mnt', type: 'bind', source: '/nonexistent-oci-source', options: ['rbind'] });
  });
  const id = uniqueId('fail');
  const result = state.ociDetached(['create', '--bundle', b.dir, id]);
  t.is(result.status, 1);
  t.is(result.stderr, `oci: create ${id}: mount /nonexistent-oci-source on /mnt: ENOENT\n`);
  t.false(state.exists(id));
  for (const hierarchy of ['pids', 'cpu', 'devices', 'freezer']) t.false(existsSync(`/sys/fs/cgroup/${hierarchy}/${id}`), hierarchy);

  const missing = await testBundle(t, ['/bin/nothing-here']);
  const other = uniqueId('fail');
  const exec = state.ociDetached(['create', '--bundle', missing.dir, other]);
  t.is(exec.stderr, `oci: create ${other}: exec: "/bin/nothing-here": stat /bin/nothing-here: no such file or directory\n`);
  const notInPath = await testBundle(t, ['nothing-here']);
  t.regex(state.ociDetached(['create', '--bundle', notInPath.dir, other]).stderr, /exec: "nothing-here": executable file not found in \$PATH/);
  t.false(state.exists(other));
});

test('--preserve-fds passes fds to the program; other fds are closed', async (t) => {
  const out = tempDir('fds');
  t.teardown(out.remove);
  const b = await testBundle(t, ['sh', '-c', 'ls /proc/self/fd; echo via-fd3 >&3']);
  const fd = openSync(path.join(out.dir, 'file'), 'w');
  t.teardown(() => closeSync(fd));
  const result = state.oci(['run', '--bundle', b.dir, '--preserve-fds', '1', uniqueId('fds')], { stdio: ['ignore', 'pipe', 'pipe', fd] });
  t.is(result.status, 0, result.stderr);
  // ls opens one fd itself, for the directory it lists: 4, since 3 is taken.
  t.deepEqual(result.stdout.trim().split('\n').map(Number).sort(), [0, 1, 2, 3, 4]);
  t.is(readFileSync(path.join(out.dir, 'file'), 'utf8'), 'via-fd3\n');
});

test('a state root too long for a socket address still works (the start socket is reached by its directory)', async (t) => {
  const deep = tempDir('deep');
  t.teardown(deep.remove);
  const root = path.join(deep.dir, 'a-directory-name-that-makes-the-path-long'.repeat(3));
  const b = await testBundle(t, ['true']);
  const id = uniqueId('long');
  t.true(path.join(root, id, 'start.sock').length > 108);
  // The container keeps the stdio it inherits: not pipes that spawnSync would wait on.
  const create = oci(['--root', root, 'create', '--bundle', b.dir, id], { stdio: 'ignore' });
  t.is(create.status, 0);
  t.teardown(() => void oci(['--root', root, 'delete', '--force', id]));
  const start = oci(['--root', root, 'start', id]);
  t.is(start.status, 0, start.stderr);
  await eventually(() => oci(['--root', root, 'state', id]).stdout.includes('"stopped"'));
  t.is(oci(['--root', root, 'delete', id]).status, 0);
});
