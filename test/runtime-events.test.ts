/**
 * `oci events`: stats from the cgroup files in runc's JSON shape (checked key by key against
 * runc's own `events --stats` of the same bundle), stats at an interval until the container
 * stops, and `oom` events as the kernel's OOM killer acts.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { busyboxBundle, testBundle, uniqueId } from './harness/bundle.js';
import { ociAsync, ociBin } from './harness/cli.js';
import { stateRoot, type StateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

type T = { teardown(fn: () => void): void; is(a: unknown, b: unknown, m?: string): void };
type Adjust = Parameters<typeof busyboxBundle>[1];

/** A container created (`run -d` when `start`) from `args`. */
async function container(t: T, args: string[], { start = true, adjust }: { start?: boolean; adjust?: Adjust } = {}) {
  const b = await testBundle(t, args, adjust);
  const id = uniqueId('events');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  const result = state.ociDetached(start ? ['run', '--detach', '--bundle', b.dir, id] : ['create', '--bundle', b.dir, id]);
  t.is(result.status, 0, result.stderr);
  return { id, bundle: b };
}

const limits: Adjust = (spec) => {
  spec.linux!.resources!.memory = { limit: 64 << 20, swap: 128 << 20 };
  spec.linux!.resources!.pids = { limit: 40 };
};

/** Every path to a leaf of a JSON value ("data/memory/usage/limit", arrays as "[]"). */
function leaves(value: unknown, at = ''): Set<string> {
  const out = new Set<string>();
  if (Array.isArray(value)) for (const item of value) for (const leaf of leaves(item, `${at}[]`)) out.add(leaf);
  else if (typeof value === 'object' && value !== null) for (const [key, item] of Object.entries(value)) for (const leaf of leaves(item, `${at}/${key}`)) out.add(leaf);
  else out.add(at);
  return out;
}

test('events --stats prints one line of stats from the cgroup files, in the shape runc prints', async (t) => {
  const { id, bundle: b } = await container(t, ['sleep', '1000'], { adjust: limits });
  const result = state.oci(['events', '--stats', id]);
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout.split('\n').length, 2, 'one line');
  const event = JSON.parse(result.stdout) as { type: string; id: string; data: Record<string, any> };
  t.is(event.type, 'stats');
  t.is(event.id, id);
  t.is(event.data.memory.usage.limit, 64 << 20);
  t.is(event.data.memory.swap.limit, 128 << 20);
  t.true(event.data.memory.usage.usage > 0);
  t.deepEqual(event.data.pids, { current: 1, limit: 40 });
  t.true(event.data.cpu.usage.total > 0);
  t.true(event.data.cpuset.cpus.length > 0);
  // Counters are uint64: v1's "no limit" is written digit for digit, not rounded through a double.
  t.regex(result.stdout, /"kernel":\{"limit":9223372036854771712,/);

  // runc's own stats of the same bundle have no key oci's lack.
  const runcRoot = tempDir('runc-events');
  t.teardown(runcRoot.remove);
  const runcId = `oci-events-${randomBytes(4).toString('hex')}`;
  t.teardown(() => void spawnSync('runc', ['--root', runcRoot.dir, 'delete', '--force', runcId]));
  t.is(spawnSync('runc', ['--root', runcRoot.dir, 'run', '--detach', '--bundle', b.dir, runcId], { stdio: 'ignore' }).status, 0);
  const runc = spawnSync('runc', ['--root', runcRoot.dir, 'events', '--stats', runcId], { encoding: 'utf8' });
  t.is(runc.status, 0, runc.stderr);
  const ours = leaves(event);
  t.deepEqual([...leaves(JSON.parse(runc.stdout))].filter((leaf) => !ours.has(leaf) && !leaf.startsWith('/id')), []);
});

test('events prints stats at the interval until the container stops, then exits 0', async (t) => {
  const { id } = await container(t, ['sh', '-c', 'sleep 1'], { start: false });
  const events = ociAsync(['--root', state.root, 'events', '--interval', '100ms', id]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.is(state.oci(['start', id]).status, 0);
  const result = await events;
  t.is(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; id: string });
  t.true(lines.length >= 5, `${lines.length} stats lines in about a second`);
  t.true(lines.every((event) => event.type === 'stats' && event.id === id));
});

test('events reports each OOM kill in the container as an oom event', async (t) => {
  const script = 'sleep 0.5; dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 0.2; dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 0.2';
  const { id } = await container(t, ['sh', '-c', script], {
    start: false,
    adjust: (spec) => {
      spec.linux!.resources!.memory = { limit: 32 << 20, swap: 32 << 20 };
    },
  });
  const events = ociAsync(['--root', state.root, 'events', '--interval', '1h', id]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.is(state.oci(['start', id]).status, 0);
  const result = await events;
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout, `{"type":"oom","id":"${id}"}\n`.repeat(2));
});

test('events refuses a stopped or unknown container and a bad interval, in one line', async (t) => {
  const { id } = await container(t, ['true']);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stopped = state.oci(['events', '--stats', id]);
  t.is(stopped.status, 1);
  t.regex(stopped.stderr, new RegExp(`container with id ${id} is not running`));
  t.regex(state.oci(['events', 'no-such-container']).stderr, /does not exist/);
  t.regex(state.oci(['events', '--interval', 'soon', id]).stderr, /--interval needs a duration like 5s or 100ms \(got 'soon'\)/);
  t.regex(state.oci(['events', '--interval', '0', id]).stderr, /the interval must be greater than 0/);
});

test('events stops quietly when its reader goes away (oci events | head -1)', async (t) => {
  const { id } = await container(t, ['sleep', '1000']);
  const child = spawn(process.execPath, [ociBin, '--root', state.root, 'events', '--interval', '50ms', id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const first = await new Promise<string>((resolve) => child.stdout.once('data', (chunk) => resolve(String(chunk))));
  t.regex(first, /^\{"type":"stats"/);
  child.stdout.destroy();
  t.is(await exited, 0);
  t.is(stderr, '');
});
