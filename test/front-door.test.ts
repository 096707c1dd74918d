/**
 * The `oci` executable's front door (packages/native/src/front-door) against the state files the
 * TypeScript runtime writes: the runtime library makes the containers here, in every status, and
 * the front door reads what it wrote. OCI_NATIVE_ONLY=1 makes the front door fail (125) where it
 * would hand the call to Node, so each call below that passes with it was served without Node;
 * a field the runtime renames or retypes in state.json makes it hand off, and these tests fail.
 * The suites' `.node.test.ts` twins run the same behaviour through Node (OCI_NODE_ONLY=1).
 */

import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Runtime } from '@oci/runtime';
import test from 'ava';
import { type TestBundle, testBundle, uniqueId } from './harness/bundle.js';
import { HANDED_TO_NODE, ociAsync } from './harness/cli.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
let runtime: Runtime;
let devNull: number;
test.before(() => {
  state = stateRoot();
  runtime = new Runtime({ root: state.root });
  devNull = openSync('/dev/null', 'r+');
});
test.after.always(() => {
  state?.remove();
  if (devNull !== undefined) closeSync(devNull);
});

const nativeOnly = { env: { ...process.env, OCI_NATIVE_ONLY: '1' } };
const nodeOnly = { env: { ...process.env, OCI_NODE_ONLY: '1' } };
/** `oci --root ROOT ARGS` served by the front door alone. */
const native = (args: string[]) => state.oci(args, nativeOnly);
/** The same through Node alone. */
const viaNode = (args: string[]) => state.oci(args, nodeOnly);

/** A container the library created (its first process is this test's child). */
async function created(t: { teardown(fn: () => Promise<void>): void }, b: TestBundle) {
  const id = uniqueId('door');
  t.teardown(() => runtime.delete(id, { force: true }));
  const container = await runtime.create(id, { bundle: b.dir, stdio: [devNull, devNull, devNull] });
  return container;
}

/** Annotations whose every character JSON.stringify or the reader could get wrong. */
const ANNOTATIONS = {
  'org.example/quotes': 'a "b" \\ c / d',
  'control \u0001': 'tab\there\nnew line \u0007 \u001f \u007f \u0080',
  unicode: 'é ü 中 😀 \u2028 \u2029 \ufeff',
  empty: '',
};

test("state through the front door is the library's, from the files the runtime wrote, in every status", async (t) => {
  const b = await testBundle(t, ['sleep', '1000'], (spec) => (spec.annotations = ANNOTATIONS));
  const container = await created(t, b);
  const expect = async (status: 'created' | 'running' | 'paused' | 'stopped') => {
    const described = await runtime.state(container.id);
    t.is(described.status, status);
    const result = native(['state', container.id]);
    t.is(result.status, 0, result.stderr);
    t.is(result.stdout, `${JSON.stringify(described, null, '  ')}\n`, status);
    t.is(viaNode(['state', container.id]).stdout, result.stdout, `${status}: as Node prints it`);
  };
  await expect('created');
  await runtime.start(container.id);
  await expect('running');
  await runtime.pause(container.id);
  await expect('paused');
  await runtime.resume(container.id);
  await runtime.kill(container.id, 'SIGKILL');
  await container.wait();
  await expect('stopped');
});

test('start, ps, pause, resume, kill and delete are served without Node and do what the library does', async (t) => {
  const b = await testBundle(t, ['sh', '-c', 'sleep 1000 & wait']);
  const container = await created(t, b);
  const { id } = container;
  const ok = (args: string[]) => {
    const result = native(args);
    t.is(result.status, 0, `${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  ok(['start', id]);
  t.is((await runtime.state(id)).status, 'running');
  // The sleep is forked once the shell runs.
  for (let tries = 0; (await runtime.ps(id)).length < 2 && tries < 500; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.is(ok(['ps', '--format', 'json', id]), `${JSON.stringify(await runtime.ps(id))}\n`);
  // What containerd's go-runc passes, and the option's own name.
  t.is(ok(['--rootless=true', 'ps', '--format=json', id]), `${JSON.stringify(await runtime.ps(id))}\n`);
  t.regex(ok(['--rootless-runtime', 'auto', 'state', id]), /"status": "running"/);
  ok(['pause', id]);
  t.is((await runtime.state(id)).status, 'paused');
  ok(['resume', id]);
  t.is((await runtime.state(id)).status, 'running');
  ok(['kill', id, '9']);
  t.deepEqual(await container.wait(), { signal: 9 });
  const cgroups = state.cgroups(id);
  ok(['delete', id]);
  t.false(state.exists(id), 'state directory removed');
  t.deepEqual(
    cgroups.filter((dir) => existsSync(dir)),
    [],
    'cgroups removed',
  );
  ok(['delete', '--force', id]);
});

test('delete --force of a running container kills every process in it, as the library does', async (t) => {
  const b = await testBundle(t, ['sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
  const container = await created(t, b);
  await runtime.start(container.id);
  for (let tries = 0; (await runtime.ps(container.id)).length < 3 && tries < 500; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  const pids = await runtime.ps(container.id);
  t.is(pids.length, 3);
  t.is(native(['delete', container.id]).status, 125, "a running container without --force is Node's to refuse");
  const result = native(['delete', '--force', container.id]);
  t.is(result.status, 0, result.stderr);
  await container.wait();
  t.false(state.exists(container.id));
  t.deepEqual(
    pids.filter((pid) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')),
    [],
  );
});

test('a command waits for the lock the library holds on the container, as another library call would', async (t) => {
  const b = await testBundle(t, ['sleep', '1000']);
  const { id } = await created(t, b);
  const lock = await runtime.store.lock(id);
  const start = ociAsync(['--root', state.root, 'start', id], nativeOnly);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is((await runtime.state(id)).status, 'created', 'start waited');
  lock.release();
  t.is((await start).status, 0);
  t.is((await runtime.state(id)).status, 'running');
});

test('what the front door does not serve exactly, it hands to Node before changing anything', async (t) => {
  const out = tempDir('hooks');
  t.teardown(out.remove);
  const marker = path.join(out.dir, 'poststart');
  const b = await testBundle(t, ['sleep', '1000'], (spec) => {
    spec.hooks = { poststart: [{ path: '/bin/sh', args: ['sh', '-c', `echo ran > ${marker}`] }] };
    spec.annotations = { '1': 'an array index comes first in a JavaScript object', b: 'x', a: 'y' };
  });
  const { id } = await created(t, b);

  const hooked = native(['start', id]);
  t.is(hooked.status, 125);
  t.regex(hooked.stderr, HANDED_TO_NODE);
  t.is((await runtime.state(id)).status, 'created', 'nothing changed');
  t.is(state.oci(['start', id]).status, 0);
  t.is(readFileSync(marker, 'utf8'), 'ran\n', 'Node ran the poststart hook');

  t.regex(native(['state', id]).stderr, HANDED_TO_NODE);
  t.is(state.oci(['state', id]).stdout, `${JSON.stringify(await runtime.state(id), null, '  ')}\n`, 'Node orders the keys');

  t.regex(native(['kill', id, 'KILL']).stderr, HANDED_TO_NODE, "signal names are Node's");
  t.is(state.oci(['kill', id, 'KILL']).status, 0);
  t.regex(native(['--debug', 'state', id]).stderr, HANDED_TO_NODE);
  t.regex(native(['state', '--root', state.root, id]).stderr, HANDED_TO_NODE, 'a global option after the command');
});

test("delete of a container in the host's mount namespace is Node's: it detaches the rootfs bind", async (t) => {
  const b = await testBundle(t, ['true'], (spec) => {
    // No namespaces, and so no hostname, masked or read-only paths.
    spec.linux!.namespaces = [];
    delete spec.hostname;
    delete spec.linux!.maskedPaths;
    delete spec.linux!.readonlyPaths;
  });
  const container = await created(t, b);
  await runtime.start(container.id);
  await container.wait();
  const mounted = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((line) => line.split(' ')[4] === b.rootfs);
  t.true(mounted());
  t.regex(native(['delete', container.id]).stderr, HANDED_TO_NODE);
  t.is(state.oci(['delete', container.id]).status, 0);
  t.false(mounted());
});

test("delete --force of a create that did not finish is Node's: it undoes what creating.json records", async (t) => {
  const id = uniqueId('creating');
  const cgroup = `/sys/fs/cgroup/pids/${id}`;
  const lock = await runtime.store.reserve(id);
  runtime.store.writeCreating({
    ociVersion: '1.2.0',
    id,
    pid: 0,
    startTime: '',
    bundle: '/nonexistent',
    rootfs: '/nonexistent/rootfs',
    created: '',
    annotations: {},
    cgroup: { dirs: [cgroup], created: [cgroup] },
  });
  lock.release();
  t.teardown(() => rmSync(cgroup, { force: true, recursive: true }));
  const handed = native(['delete', '--force', id]);
  t.is(handed.status, 125);
  t.true(state.exists(id));
  t.is(state.oci(['delete', '--force', id]).status, 0);
  t.false(state.exists(id));
});

/** stderr, status and --log lines (times taken out) of a call through one path. */
function outcome(path: 'native' | 'node', args: string[]) {
  const log = path === 'native' ? tempDir('log-native') : tempDir('log-node');
  try {
    const file = `${log.dir}/log.json`;
    const result = (path === 'native' ? native : viaNode)(['--log', file, '--log-format', 'json', ...args]);
    const lines = readFileSync(file, 'utf8').replace(/"time":"[^"]+"/g, '"time":"T"');
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, lines };
  } finally {
    log.remove();
  }
}

test('a start that fails in the container is reported by the front door as Node reports it', async (t) => {
  // The container's own hook fails with a message holding what must be escaped on one line.
  const fails = (spec: TestBundle['spec']) =>
    (spec.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'printf "no\\tgo \\033[2J \\302\\205 \\342\\200\\250 \\377" >&2; exit 3'] }] });
  const b = await testBundle(t, ['true'], fails);
  const results = [];
  for (const path of ['native', 'node'] as const) {
    const withLog = await created(t, b);
    const logged = outcome(path, ['start', withLog.id]);
    // Without --log, --log-format json puts the JSON line on stderr.
    const { id } = await created(t, b);
    const { status, stderr } = (path === 'native' ? native : viaNode)(['--log-format', 'json', 'start', id]);
    results.push({
      logged: { ...logged, stderr: logged.stderr.replaceAll(withLog.id, 'ID'), lines: logged.lines.replaceAll(withLog.id, 'ID') },
      json: { status, stderr: stderr.replaceAll(id, 'ID').replace(/"time":"[^"]+"/g, '"time":"T"') },
    });
  }
  const [fromNative, fromNode] = results;
  t.is(fromNative!.logged.status, 1);
  t.regex(fromNative!.logged.stderr, /^oci: start ID: startContainer hook #0/);
  t.regex(fromNative!.json.stderr, /^\{"level":"error","msg":"start ID: startContainer hook #0/);
  t.deepEqual(fromNative, fromNode);
});

test('the front door creates the --log file on every call it serves, and writes no line', async (t) => {
  const b = await testBundle(t, ['sleep', '1000']);
  const { id } = await created(t, b);
  t.deepEqual(outcome('native', ['state', id]).lines, '');
  t.deepEqual(outcome('native', ['delete', '--force', 'no-such-container']), { status: 0, stdout: '', stderr: '', lines: '' });
});
