/**
 * `oci events`: stats from the cgroup files in runc's JSON shape (checked key by key against
 * runc's stats types, which runc's own `events --stats` of the same bundle fits too), stats at
 * an interval until the container stops, and `oom` events as the kernel's OOM killer acts.
 */

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { type busyboxBundle, testBundle, uniqueId } from './harness/bundle.js';
import { ociAsync, ociBin } from './harness/cli.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';
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

/** Every path to a leaf of a JSON value ("/data/memory/usage/limit"; a list's items "[]", a map's keys "*"). */
function leaves(value: unknown, at = ''): Set<string> {
  const out = new Set<string>();
  const key = (name: string) => (MAPS.has(at) ? '*' : name);
  if (Array.isArray(value)) for (const item of value) for (const leaf of leaves(item, `${at}[]`)) out.add(leaf);
  else if (typeof value === 'object' && value !== null)
    for (const [name, item] of Object.entries(value)) for (const leaf of leaves(item, `${at}/${key(name)}`)) out.add(leaf);
  else out.add(at);
  return out;
}

const MAPS = new Set(['/data/hugetlb', '/data/memory/raw']);

/** A JSON shape: a leaf (0) or an object; "?" ends a field Go omits when zero or empty, "[]" a list. */
type Shape = 0 | { [field: string]: Shape };

const MEMORY_ENTRY: Shape = { limit: 0, 'usage?': 0, 'max?': 0, failcnt: 0 };
const BLKIO_ENTRY: Shape = { 'major?': 0, 'minor?': 0, 'op?': 0, 'value?': 0 };

/**
 * runc 1.1.5's `events --stats` line as its types define it (types/events.go, and
 * libcontainer/intelrdt/stats.go): the fields it may print, and which it always prints. What it
 * prints of the others depends on what the container did (memory.cache only with page cache,
 * blkio entries only after I/O), so a comparison holds to the types, not to one run's output.
 */
const RUNC_STATS: Shape = {
  type: 0,
  id: 0,
  data: {
    cpu: {
      usage: { 'total?': 0, 'percpu[]?': 0, 'percpu_kernel[]?': 0, 'percpu_user[]?': 0, kernel: 0, user: 0 },
      throttling: { 'periods?': 0, 'throttledPeriods?': 0, 'throttledTime?': 0 },
    },
    cpuset: {
      'cpus[]?': 0,
      cpu_exclusive: 0,
      'mems[]?': 0,
      mem_hardwall: 0,
      mem_exclusive: 0,
      memory_migrate: 0,
      memory_spread_page: 0,
      memory_spread_slab: 0,
      memory_pressure: 0,
      sched_load_balance: 0,
      sched_relax_domain_level: 0,
    },
    memory: { 'cache?': 0, usage: MEMORY_ENTRY, swap: MEMORY_ENTRY, kernel: MEMORY_ENTRY, kernelTCP: MEMORY_ENTRY, 'raw?': { '*': 0 } },
    pids: { 'current?': 0, 'limit?': 0 },
    blkio: Object.fromEntries(
      [
        'ioServiceBytesRecursive',
        'ioServicedRecursive',
        'ioQueueRecursive',
        'ioServiceTimeRecursive',
        'ioWaitTimeRecursive',
        'ioMergedRecursive',
        'ioTimeRecursive',
        'sectorsRecursive',
      ].map((name) => [`${name}[]?`, BLKIO_ENTRY]),
    ),
    'hugetlb?': { '*': { 'usage?': 0, 'max?': 0, failcnt: 0 } },
    intel_rdt: {
      'l3_cache_info?': { 'cbm_mask?': 0, 'min_cbm_bits?': 0, 'num_closids?': 0 },
      'l3_cache_schema_root?': 0,
      'l3_cache_schema?': 0,
      'mem_bw_info?': { 'bandwidth_gran?': 0, 'delay_linear?': 0, 'min_bandwidth?': 0, 'num_closids?': 0 },
      'mem_bw_schema_root?': 0,
      'mem_bw_schema?': 0,
      'mbm_stats[]?': { mbm_total_bytes: 0, mbm_local_bytes: 0 },
      'cmt_stats[]?': { llc_occupancy: 0 },
    },
    // A nil list: null.
    network_interfaces: 0,
  },
};

/** The leaf paths of a shape (as `leaves` writes them), each with whether it is always there. */
function shapeLeaves(shape: Shape, at = '', always = true): Map<string, boolean> {
  if (shape === 0) return new Map([[at, always]]);
  const out = new Map<string, boolean>();
  for (const [field, inner] of Object.entries(shape)) {
    const optional = field.endsWith('?');
    const name = field.replace(/\?$/, '');
    for (const [leaf, there] of shapeLeaves(inner, `${at}/${name.replace(/\[\]$/, '')}${name.endsWith('[]') ? '[]' : ''}`, always && !optional))
      out.set(leaf, there);
  }
  return out;
}

test('events --stats prints one line of stats from the cgroup files, in the shape runc prints', async (t) => {
  const { id, bundle: b } = await container(t, ['sleep', '1000'], { adjust: limits });
  const result = state.oci(['events', '--stats', id]);
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout.split('\n').length, 2, 'one line');
  const event = JSON.parse(result.stdout) as {
    type: string;
    id: string;
    data: {
      memory: { usage: { limit: number; usage: number }; swap: { limit: number } };
      pids: unknown;
      cpu: { usage: { total: number } };
      cpuset: { cpus: unknown[] };
    };
  };
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

  // The keys runc's types define: oci prints none other and all that runc always prints; runc's
  // own stats of the same bundle fit the same types (which proves their transcription here).
  const shape = shapeLeaves(RUNC_STATS);
  const fitsShape = (found: Set<string>, whose: string) => {
    t.deepEqual(
      [...found].filter((leaf) => !shape.has(leaf)),
      [],
      `${whose}: keys runc's types lack`,
    );
    t.deepEqual(
      [...shape].filter(([leaf, always]) => always && !found.has(leaf)).map(([leaf]) => leaf),
      [],
      `${whose}: keys runc always prints, missing`,
    );
  };
  fitsShape(leaves(event), 'oci');
  const runcRoot = tempDir('runc-events');
  t.teardown(runcRoot.remove);
  const runcId = `oci-events-${randomBytes(4).toString('hex')}`;
  t.teardown(() => void spawnSync('runc', ['--root', runcRoot.dir, 'delete', '--force', runcId]));
  t.is(spawnSync('runc', ['--root', runcRoot.dir, 'run', '--detach', '--bundle', b.dir, runcId], { stdio: 'ignore' }).status, 0);
  const runc = spawnSync('runc', ['--root', runcRoot.dir, 'events', '--stats', runcId], { encoding: 'utf8' });
  t.is(runc.status, 0, runc.stderr);
  fitsShape(leaves(JSON.parse(runc.stdout)), 'runc itself (so the shape transcribed here is wrong)');
});

test('events prints stats at the interval until the container stops, then exits 0', async (t) => {
  const { id } = await container(t, ['sh', '-c', 'sleep 1'], { start: false });
  const events = ociAsync(['--root', state.root, 'events', '--interval', '100ms', id]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.is(state.oci(['start', id]).status, 0);
  const result = await events;
  t.is(result.status, 0, result.stderr);
  const lines = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; id: string });
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
  t.is(await exited, 0, stderr);
  t.is(stderr, '');
});
