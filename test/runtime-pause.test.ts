/**
 * pause and resume through the cgroup freezer: v1 as this hybrid host routes it (the freezer
 * controller), v2's cgroup.freeze on the unified hierarchy (where the container's processes also
 * live); `state` says paused; kill and delete of a paused container behave as runc's.
 */

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freeze, isFrozen, thaw } from '@oci/runtime/cgroups/freezer';
import test from 'ava';
import { busyboxBundle, type TestBundle, uniqueId } from './harness/bundle.js';
import { eventually, type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

interface Counting {
  id: string;
  /** The counter the container's loop increments every 20 ms. */
  count(): number;
  /** The host path of a file the container writes to /out. */
  out(name: string): string;
}

/**
 * A running container whose shell loop counts into /out/count (a host dir bound in), with
 * `trap` handlers: SIGUSR1 writes /out/usr1.
 */
async function counting(t: { teardown(fn: () => void): void; is(a: unknown, b: unknown, m?: string): void }): Promise<Counting> {
  const out = tempDir('pause-out');
  t.teardown(out.remove);
  const script = 'trap "echo usr1 > /out/usr1" USR1; i=0; while true; do i=$((i+1)); echo $i > /out/.count; mv /out/.count /out/count; sleep 0.02; done';
  const b: TestBundle = await busyboxBundle(['sh', '-c', script], (spec) => {
    spec.mounts!.push({ destination: '/out', type: 'bind', source: out.dir, options: ['rbind', 'rw'] });
  });
  t.teardown(b.remove);
  const id = uniqueId('pause');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  const run = state.ociDetached(['run', '--detach', '--bundle', b.dir, id]);
  t.is(run.status, 0, run.stderr);
  const file = path.join(out.dir, 'count');
  const count = () => (existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0);
  await eventually(() => count() > 0);
  return { id, count, out: (name) => path.join(out.dir, name) };
}

const statusOf = (id: string) => (JSON.parse(state.oci(['state', id]).stdout) as { status: string }).status;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether the counter stands still for a while. */
async function standsStill(c: Counting): Promise<boolean> {
  const before = c.count();
  await sleep(300);
  return c.count() === before;
}

test('pause freezes every process and state says paused; resume lets them run on', async (t) => {
  const c = await counting(t);
  const pause = state.oci(['pause', c.id]);
  t.is(pause.status, 0, pause.stderr);
  t.is(statusOf(c.id), 'paused');
  t.regex(state.oci(['list', '--format', 'json']).stdout, new RegExp(`"id":"${c.id}"[^}]*"status":"paused"`));
  t.true(await standsStill(c), 'nothing runs while paused');

  const resume = state.oci(['resume', c.id]);
  t.is(resume.status, 0, resume.stderr);
  t.is(statusOf(c.id), 'running');
  const after = c.count();
  await eventually(() => c.count() > after);
});

test('pause and resume refuse a container in the wrong state, with runc words', async (t) => {
  const c = await counting(t);
  t.regex(state.oci(['resume', c.id]).stderr, /container not paused/);
  t.is(state.oci(['pause', c.id]).status, 0);
  const again = state.oci(['pause', c.id]);
  t.is(again.status, 1);
  t.regex(again.stderr, /paused already/);
  t.regex(state.oci(['start', c.id]).stderr, /cannot start a container in the paused state/);
  t.is(state.oci(['kill', c.id, 'KILL']).status, 0);
  await eventually(() => statusOf(c.id) === 'stopped');
  t.regex(state.oci(['pause', c.id]).stderr, /container not running/);
  t.regex(state.oci(['pause', 'no-such-container']).stderr, /does not exist/);
});

test('a signal to a paused container arrives on resume; SIGKILL kills it while paused', async (t) => {
  const c = await counting(t);
  t.is(state.oci(['pause', c.id]).status, 0);
  t.is(state.oci(['kill', c.id, 'USR1']).status, 0);
  await sleep(300);
  t.is(statusOf(c.id), 'paused', 'a caught signal leaves it paused');
  t.false(existsSync(c.out('usr1')), 'its handler has not run');
  t.is(state.oci(['resume', c.id]).status, 0);
  await eventually(() => existsSync(c.out('usr1')));

  t.is(state.oci(['pause', c.id]).status, 0);
  t.is(state.oci(['kill', c.id, 'KILL']).status, 0);
  await eventually(() => statusOf(c.id) === 'stopped');
});

test('kill --all reaches every process of a paused container and leaves it paused; with SIGKILL they die', async (t) => {
  const c = await counting(t);
  t.is(state.oci(['pause', c.id]).status, 0);
  t.is(state.oci(['kill', '--all', c.id, 'USR1']).status, 0);
  t.is(statusOf(c.id), 'paused');
  t.false(existsSync(c.out('usr1')));
  t.is(state.oci(['kill', '--all', c.id, '9']).status, 0);
  await eventually(() => statusOf(c.id) === 'stopped');
  const [dir] = state.cgroups(c.id);
  await eventually(() => readFileSync(path.join(dir!, 'cgroup.procs'), 'utf8') === '');
});

test('delete refuses a paused container; delete --force kills it and removes its cgroups', async (t) => {
  const c = await counting(t);
  const dirs = state.cgroups(c.id);
  t.is(state.oci(['pause', c.id]).status, 0);
  const refused = state.oci(['delete', c.id]);
  t.is(refused.status, 1);
  t.regex(refused.stderr, /cannot delete container \S+ that is not stopped: it is paused/);
  const forced = state.oci(['delete', '--force', c.id]);
  t.is(forced.status, 0, forced.stderr);
  t.false(state.exists(c.id));
  for (const dir of dirs) t.false(existsSync(dir), dir);
});

test("v2: cgroup.freeze on the unified hierarchy freezes the container's processes and thaws them", async (t) => {
  const c = await counting(t);
  const unified = state.cgroups(c.id).find((dir) => dir.startsWith('/sys/fs/cgroup/unified/'));
  if (!unified) return t.fail('this host has no v2 hierarchy to freeze through');
  const v2 = { version: 2 as const, dir: unified };
  await freeze(v2);
  t.true(isFrozen(v2));
  t.regex(readFileSync(path.join(unified, 'cgroup.events'), 'utf8'), /^frozen 1$/m);
  t.true(await standsStill(c), 'nothing runs while frozen through v2');
  thaw(v2);
  t.false(isFrozen(v2));
  const after = c.count();
  await eventually(() => c.count() > after);
});
