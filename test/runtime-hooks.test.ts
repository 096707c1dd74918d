/**
 * Hooks through the `oci` command: each kind at its point of the lifecycle and in its
 * namespaces, with the state on stdin and exactly its args and env; failures that fail create
 * or start (and leave nothing behind), failures that only warn, and hooks killed at their timeout.
 */

import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Hook, Spec } from '@oci/specs';
import test from 'ava';
import { busyboxBundle, uniqueId } from './harness/bundle.js';
import { eventually, type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

type T = { teardown(fn: () => void): void };

/**
 * A bundle whose hooks append to one log, seen at /log in the container and `dir/log` on the
 * host; the program appends too. Hooks outside the container use the host's /bin/sh.
 */
async function logged(t: T, args: string[], hooks: (log: string) => Spec['hooks'], adjust?: (spec: Spec) => void) {
  const dir = tempDir('hooks');
  t.teardown(dir.remove);
  const log = path.join(dir.dir, 'log');
  const bundle = await busyboxBundle(args, (spec) => {
    spec.mounts!.push({ destination: '/log', type: 'bind', source: dir.dir, options: ['rbind', 'rw'] });
    spec.hooks = hooks(log);
    adjust?.(spec);
  });
  t.teardown(bundle.remove);
  const id = uniqueId('hooks');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  return { bundle, id, log, lines: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

/** A hook that logs its name, its state (stdin) and its mount and pid namespaces. */
const recorder = (name: string, log: string, shell = '/bin/sh'): Hook => ({
  path: shell,
  args: ['sh', '-c', `echo "${name} $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/pid) $(cat)" >> ${log}`],
});

const stateOf = (id: string) => JSON.parse(state.oci(['state', id]).stdout) as { status: string; pid: number };
const parse = (line: string) => {
  const [name, mnt, pid, ...json] = line.split(' ');
  return { name, mnt, pid, state: JSON.parse(json.join(' ')) as Record<string, unknown> };
};

test('every hook runs at its point, in its namespaces, with the state on stdin', async (t) => {
  const { bundle, id, lines } = await logged(
    t,
    ['sh', '-c', 'echo program >> /log/log'],
    (log) => ({
      prestart: [recorder('prestart', log)],
      createRuntime: [recorder('createRuntime', log)],
      // Before pivot_root, in the container's mount namespace: the host's /bin/sh still resolves.
      createContainer: [recorder('createContainer', log)],
      // After pivot_root: the container's /bin/sh and /log.
      startContainer: [recorder('startContainer', '/log/log')],
      poststart: [recorder('poststart', log)],
      poststop: [recorder('poststop', log)],
    }),
    (spec) => {
      spec.annotations = { 'org.example.hooks': 'yes' };
    },
  );
  const host = { mnt: readlinkSync('/proc/self/ns/mnt'), pid: readlinkSync('/proc/self/ns/pid') };

  const created = state.ociDetached(['create', '--bundle', bundle.dir, id]);
  t.is(created.status, 0, created.stderr);
  const { pid } = stateOf(id);
  const container = { mnt: readlinkSync(`/proc/${pid}/ns/mnt`), pid: readlinkSync(`/proc/${pid}/ns/pid`) };
  t.not(container.mnt, host.mnt);
  t.deepEqual(
    lines().map((l) => l.split(' ')[0]),
    ['prestart', 'createRuntime', 'createContainer'],
  );

  t.is(state.oci(['start', id]).status, 0);
  await eventually(() => lines().includes('program'));
  t.is(stateOf(id).status, 'stopped');
  t.is(state.oci(['delete', id]).status, 0);

  const all = lines();
  // poststart may race the short program; everything else is in order.
  t.deepEqual(
    all.filter((l) => !l.startsWith('poststart')).map((l) => l.split(' ')[0]),
    ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'program', 'poststop'],
  );
  const hooks = Object.fromEntries(all.filter((l) => l !== 'program').map((l) => [l.split(' ')[0], parse(l)]));
  const common = { id, bundle: bundle.dir, annotations: { 'org.example.hooks': 'yes' } };
  for (const name of ['prestart', 'createRuntime', 'poststart', 'poststop']) t.like(hooks[name], { mnt: host.mnt, pid: host.pid }, name);
  for (const name of ['createContainer', 'startContainer']) t.like(hooks[name], container, name);
  t.like(hooks.prestart!.state, { ...common, status: 'creating', pid });
  t.like(hooks.createRuntime!.state, { ...common, status: 'creating', pid });
  t.like(hooks.createContainer!.state, { ...common, status: 'creating', pid });
  t.like(hooks.startContainer!.state, { ...common, status: 'created', pid });
  t.like(hooks.poststart!.state, { ...common, status: 'running', pid });
  t.like(hooks.poststop!.state, { ...common, status: 'stopped' });
  t.regex(hooks.prestart!.state.ociVersion as string, /^1\.\d+\.\d+$/);
});

test('a hook gets exactly its args (argv[0] included) and env, and the bundle as its working directory', async (t) => {
  const show = (log: string): Hook => ({
    path: '/bin/sh',
    // The shell's own command line, found through its child's parent (its pid in /proc, which is
    // the host's even for createContainer, whose $$ counts in the container's pid namespace).
    args: [
      'custom-argv0',
      '-c',
      `{ tr '\\0' ' ' < /proc/$(cut -d' ' -f4 /proc/self/stat)/cmdline; echo; env | grep -v -E '^(PWD|SHLVL|_)=' | sort; pwd; } >> ${log}`,
      'x',
    ],
    env: ['ONLY=this', 'SECOND=two words'],
  });
  const { bundle, id, lines } = await logged(t, ['true'], (log) => ({ createRuntime: [show(log)], createContainer: [show(log)] }));
  const created = state.ociDetached(['create', '--bundle', bundle.dir, id]);
  t.is(created.status, 0, created.stderr);
  const out = lines();
  t.is(out.length, 8, out.join('\n'));
  for (const at of [0, 4]) t.regex(out[at]!, /^custom-argv0 -c .* x $/);
  t.deepEqual([out[1], out[2]], ['ONLY=this', 'SECOND=two words']);
  t.deepEqual([out[5], out[6]], ['ONLY=this', 'SECOND=two words']);
  t.is(out[3], bundle.dir);
  t.is(out[7], bundle.rootfs); // createContainer runs in the rootfs, as under runc
});

const failing = (log: string, name: string): Hook => ({ path: '/bin/sh', args: ['sh', '-c', `echo ${name} >> ${log}; echo "${name} says no" >&2; exit 3`] });
const noting = (log: string, name: string): Hook => ({ path: '/bin/sh', args: ['sh', '-c', `echo ${name} >> ${log}`] });

for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) {
  test(`a failing ${kind} hook fails create: nothing is left, the program never runs, poststop hooks run`, async (t) => {
    const { bundle, id, lines } = await logged(t, ['sh', '-c', 'echo program >> /log/log'], (log) => ({
      [kind]: [failing(log, kind), noting(log, 'not-reached')],
      poststop: [noting(log, 'poststop')],
    }));
    const created = state.ociDetached(['create', '--bundle', bundle.dir, id]);
    t.is(created.status, 1);
    t.regex(created.stderr, new RegExp(`^oci: create ${id}: ${kind} hook #0 /bin/sh: exit status 3: ${kind} says no\\n$`));
    t.false(state.exists(id));
    t.deepEqual(lines(), [kind, 'poststop']);
  });
}

test('a failing startContainer hook fails start and the container stops; delete then runs poststop', async (t) => {
  const { bundle, id, lines } = await logged(t, ['sh', '-c', 'echo program >> /log/log'], (log) => ({
    startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo startContainer >> /log/log; exit 4'] }],
    poststart: [noting(log, 'poststart')],
    poststop: [noting(log, 'poststop')],
  }));
  t.is(state.ociDetached(['create', '--bundle', bundle.dir, id]).status, 0);
  const started = state.oci(['start', id]);
  t.is(started.status, 1);
  t.regex(started.stderr, /startContainer hook #0 \/bin\/sh: exit status 4/);
  await eventually(() => stateOf(id).status === 'stopped');
  t.is(state.oci(['delete', id]).status, 0);
  t.deepEqual(lines(), ['startContainer', 'poststop']);
});

test('failing poststart and poststop hooks are warnings: the rest run and the lifecycle goes on', async (t) => {
  const { bundle, id, lines } = await logged(t, ['sh', '-c', 'sleep 0.2; echo program >> /log/log'], (log) => ({
    poststart: [failing(log, 'poststart1'), noting(log, 'poststart2')],
    poststop: [failing(log, 'poststop1'), noting(log, 'poststop2')],
  }));
  t.is(state.ociDetached(['create', '--bundle', bundle.dir, id]).status, 0);
  const started = state.oci(['start', id]);
  t.is(started.status, 0, started.stderr);
  t.regex(started.stderr, /^oci: warning: poststart hook #0 \/bin\/sh: exit status 3: poststart1 says no/m);
  await eventually(() => lines().includes('program'));
  const deleted = state.oci(['delete', id]);
  t.is(deleted.status, 0, deleted.stderr);
  t.regex(deleted.stderr, /^oci: warning: poststop hook #0 \/bin\/sh: exit status 3: poststop1 says no/m);
  t.false(state.exists(id));
  t.deepEqual(lines(), ['poststart1', 'poststart2', 'program', 'poststop1', 'poststop2']);
});

const hanging = (kind: string): Hook => ({ path: '/bin/sh', args: ['sh', '-c', `echo ${kind} hangs; exec sleep 600`], timeout: 1 });

for (const kind of ['prestart', 'createContainer'] as const) {
  test(`a ${kind} hook that hangs is killed at its timeout and create fails saying so`, async (t) => {
    const { bundle, id } = await logged(t, ['true'], () => ({ [kind]: [hanging(kind)] }));
    const began = Date.now();
    const created = state.ociDetached(['create', '--bundle', bundle.dir, id]);
    t.is(created.status, 1);
    t.regex(created.stderr, new RegExp(`${kind} hook #0 /bin/sh: timed out after 1 s and was killed: ${kind} hangs`));
    t.true(Date.now() - began < 30_000);
    t.false(state.exists(id));
  });
}

test('a startContainer hook that hangs is killed at its timeout; a poststart one only warns', async (t) => {
  const { bundle, id } = await logged(t, ['true'], () => ({ startContainer: [hanging('startContainer')] }));
  t.is(state.ociDetached(['create', '--bundle', bundle.dir, id]).status, 0);
  const started = state.oci(['start', id]);
  t.is(started.status, 1);
  t.regex(started.stderr, /startContainer hook #0 \/bin\/sh: timed out after 1 s and was killed: startContainer hangs/);

  const other = await logged(t, ['sleep', '5'], () => ({ poststart: [hanging('poststart')] }));
  t.is(state.ociDetached(['create', '--bundle', other.bundle.dir, other.id]).status, 0);
  const warned = state.oci(['start', other.id]);
  t.is(warned.status, 0, warned.stderr);
  t.regex(warned.stderr, /warning: poststart hook #0 \/bin\/sh: timed out after 1 s and was killed: poststart hangs/);
  t.is(stateOf(other.id).status, 'running');
});

test('a hook that is not there fails create with its name and errno', async (t) => {
  const { bundle, id } = await logged(t, ['true'], () => ({ createRuntime: [{ path: '/nonexistent/hook' }] }));
  const created = state.ociDetached(['create', '--bundle', bundle.dir, id]);
  t.is(created.status, 1);
  t.regex(created.stderr, /createRuntime hook #0 \/nonexistent\/hook: ENOENT/);
  t.false(state.exists(id));
});
