/**
 * Bad input to the runtime commands: one clear line with the words engines match on ("does
 * not exist", "container not running"), a non-zero exit, and nothing left behind.
 */
import test from 'ava';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { testBundle, uniqueId, type TestBundle } from './harness/bundle.js';
import { runcRun } from './harness/runc.js';
import { eventually, stateRoot, type StateRoot } from './harness/runtime.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

/** Asserts one line on stderr matching `pattern`, exit status 1, and no trace of the container. */
function refused(t: import('ava').ExecutionContext, result: { status: number | null; stderr: string }, pattern: RegExp, id?: string) {
  t.is(result.status, 1, result.stderr);
  t.is(result.stderr.split('\n').length, 2, result.stderr);
  t.regex(result.stderr, pattern);
  t.notRegex(result.stderr, /\n\s+at /);
  if (id) t.false(state.exists(id), `${id} left a state directory`);
}

test('a config.json that is not JSON, or of an unknown version, is refused', async (t) => {
  const b = await testBundle(t, ['true']);
  writeFileSync(path.join(b.dir, 'config.json'), '{"ociVersion": ');
  const id = uniqueId('bad');
  refused(t, state.ociDetached(['create', '--bundle', b.dir, id]), /^oci: create \S+: .*config\.json: not valid JSON/, id);
  b.spec.ociVersion = '2.0.0';
  b.save();
  refused(t, state.ociDetached(['create', '--bundle', b.dir, id]), /ociVersion '2\.0\.0' is not supported/, id);
});

test('a missing rootfs or bundle is refused', async (t) => {
  const b = await testBundle(t, ['true']);
  rmSync(b.rootfs, { recursive: true });
  const id = uniqueId('bad');
  refused(t, state.ociDetached(['create', '--bundle', b.dir, id]), new RegExp(`rootfs ${b.rootfs} does not exist`), id);
  refused(t, state.ociDetached(['create', '--bundle', path.join(b.dir, 'nope'), id]), /config\.json does not exist/, id);
});

test('relative paths where the spec wants absolute ones are refused', async (t) => {
  const id = uniqueId('bad');
  const cases: [(spec: TestBundle['spec']) => void, RegExp][] = [
    [(spec) => spec.mounts!.push({ destination: 'tmp', type: 'tmpfs', source: 'tmpfs' }), /mounts\[7\]\.destination: 'tmp' is not an absolute path/],
    [(spec) => (spec.process!.cwd = 'home'), /process\.cwd: 'home' is not an absolute path/],
    [(spec) => spec.linux!.maskedPaths!.push('proc/kcore'), /linux\.maskedPaths: 'proc\/kcore' is not an absolute path/],
    [(spec) => spec.linux!.namespaces!.push({ type: 'time', path: 'ns/time' }), /linux\.namespaces\[6\]\.path: 'ns\/time' is not an absolute path/],
  ];
  for (const [adjust, pattern] of cases) {
    const b = await testBundle(t, ['true'], adjust);
    refused(t, state.ociDetached(['create', '--bundle', b.dir, id]), pattern, id);
  }
});

test('an invalid container id and a duplicate id are refused', async (t) => {
  const b = await testBundle(t, ['sleep', '30']);
  refused(t, state.ociDetached(['create', '--bundle', b.dir, '../escape']), /invalid container id/);
  const id = uniqueId('dup');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  t.is(state.ociDetached(['create', '--bundle', b.dir, id]).status, 0);
  const pid = JSON.parse(state.oci(['state', id]).stdout).pid as number;
  refused(t, state.ociDetached(['create', '--bundle', b.dir, id]), new RegExp(`container ${id} already exists`));
  // The first one is untouched.
  t.like(JSON.parse(state.oci(['state', id]).stdout), { status: 'created', pid });
});

test("ids runc accepts work, '...' and '.x' included; one with a newline is refused in one line, as runc refuses it", async (t) => {
  const b = await testBundle(t, ['true']);
  for (const id of ['...', `.${uniqueId('dot')}`]) {
    const ours = state.oci(['run', '--bundle', b.dir, id]);
    t.is(ours.status, 0, ours.stderr);
    t.false(state.exists(id));
  }
  t.is(runcRun(b.dir, '...').status, 0, "runc's rule: '...' is a valid id");

  const id = `nl-${process.pid}\nwith: another line`;
  const refusal = state.ociDetached(['create', '--bundle', b.dir, id]);
  refused(t, refusal, /^oci: create nl-\d+\\nwith: another line: invalid container id "nl-\d+\\nwith: another line": use letters/);
  t.not(runcRun(b.dir, id).status, 0);
  // Whatever the error echoes, it stays one line: a bundle path with a newline and an escape.
  refused(t, state.ociDetached(['create', '--bundle', `${b.dir}/no\nsuch\x1b[2J`, uniqueId('nl')]), /bundle \S+\/no\\nsuch\\x1b\[2J: config\.json does not exist$/m);
});

test('start of a container that is not created, and commands on one that does not exist', async (t) => {
  const b = await testBundle(t, ['true']);
  const id = uniqueId('start');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  t.is(state.ociDetached(['create', '--bundle', b.dir, id]).status, 0);
  t.is(state.oci(['start', id]).status, 0);
  await eventually(() => state.oci(['state', id]).stdout.includes('"stopped"'));
  refused(t, state.oci(['start', id]), /cannot start a container that has stopped/);
  refused(t, state.oci(['kill', id, 'KILL']), /^oci: kill \S+: container not running$/m);

  const ghost = uniqueId('ghost');
  for (const args of [['start', ghost], ['state', ghost], ['kill', ghost], ['delete', ghost]]) {
    refused(t, state.oci(args), new RegExp(`^oci: ${args[0]} ${ghost}: container ${ghost} does not exist$`, 'm'));
  }
  t.is(state.oci(['delete', '--force', ghost]).status, 0, 'delete --force of nothing succeeds, as runc');
});

test('an unknown signal is refused and the container keeps running', async (t) => {
  const b = await testBundle(t, ['sleep', '30']);
  const id = uniqueId('sig');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  t.is(state.ociDetached(['create', '--bundle', b.dir, id]).status, 0);
  refused(t, state.oci(['kill', id, 'SIGNOPE']), /unknown signal 'SIGNOPE'/);
  refused(t, state.oci(['kill', id, '99']), /unknown signal '99'/);
  t.regex(state.oci(['state', id]).stdout, /"created"/);
});

test('nothing is left in the state root by failed creates', async (t) => {
  const b = await testBundle(t, ['true'], (spec) => {
    spec.linux!.sysctl = { 'kernel.panic': '1' };
  });
  refused(t, state.ociDetached(['create', '--bundle', b.dir, uniqueId('sysctl')]), /kernel\.panic is not in a separate kernel namespace/);
  const leftovers = readdirSync(state.root).filter((name) => name.startsWith('sysctl-') || name.startsWith('bad-'));
  t.deepEqual(leftovers, []);
});
