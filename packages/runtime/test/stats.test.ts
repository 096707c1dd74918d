/**
 * Stats and OOM events from v2 files, against a directory laid out like a v2 cgroup (this
 * host's unified hierarchy has only hugetlb), and the JSON line with uint64 counters exact.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Layout } from '../src/cgroups/layout.js';
import { parseCpuList, readStats } from '../src/cgroups/stats.js';
import { containerEvents, formatEvent } from '../src/events.js';

test('v2: cpu.stat, memory and swap (reported as memory+swap, like v1), pids, io.stat in v1 names', (t) => {
  const mount = mkdtempSync(path.join(tmpdir(), 'oci-fake-cgroup2-'));
  t.teardown(() => rmSync(mount, { recursive: true, force: true }));
  const dir = path.join(mount, 'c1');
  mkdirSync(dir);
  const files: Record<string, string> = {
    'cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\nthrottled_usec 7\n',
    'memory.current': '4096\n',
    'memory.max': '1048576\n',
    'memory.swap.current': '100\n',
    'memory.swap.max': 'max\n',
    'memory.stat': 'file 12\nanon 30\n',
    'pids.current': '3\n',
    'pids.max': 'max\n',
    'io.stat': '8:0 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n',
    'cgroup.procs': '1\n2\n3\n',
  };
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  const layout: Layout = {
    mode: 'v2',
    hierarchies: [{ version: 2, mountPoint: mount, mountRoot: '/', controllers: ['cpu', 'memory', 'pids', 'io'], key: '' }],
    own: new Map(),
  };
  const stats = readStats(layout, { dirs: [dir], unified: dir, created: [] });
  t.deepEqual(stats.cpu, {
    usage: { total: 1_500_000n, kernel: 500_000n, user: 1_000_000n },
    throttling: { periods: 10n, throttledPeriods: 2n, throttledTime: 7000n },
  });
  t.deepEqual(stats.memory.usage, { limit: 1048576n, usage: 4096n, failcnt: 0n });
  t.deepEqual(stats.memory.swap, { limit: 2n ** 64n - 1n, usage: 4196n, failcnt: 0n });
  t.is(stats.memory.cache, 12n);
  t.deepEqual(Object.keys(stats.memory.raw!), ['anon', 'file'], 'sorted, as Go writes a map');
  t.deepEqual(stats.pids, { current: 3n }, 'no limit is left out, as runc does');
  t.deepEqual(stats.blkio, {
    ioServiceBytesRecursive: [
      { major: 8n, op: 'Read', value: 512n },
      { major: 8n, op: 'Write' },
    ],
    ioServicedRecursive: [
      { major: 8n, op: 'Read', value: 1n },
      { major: 8n, op: 'Write' },
    ],
  });
});

test('an event line writes uint64 counters digit for digit', (t) => {
  const line = formatEvent({ type: 'stats', id: 'c1', data: { pids: { current: 18446744073709551615n }, cpuset: { sched_relax_domain_level: -1n } } as never });
  t.is(line, '{"type":"stats","id":"c1","data":{"pids":{"current":18446744073709551615},"cpuset":{"sched_relax_domain_level":-1}}}');
  t.is(formatEvent({ type: 'oom', id: 'c1' }), '{"type":"oom","id":"c1"}');
});

test('cpu lists', (t) => {
  t.deepEqual(parseCpuList('0-2,4\n'), [0, 1, 2, 4]);
  t.deepEqual(parseCpuList(''), []);
});

test('v2 events: an oom event for each new oom_kill in memory.events, stats at the interval, the end when the container stops', async (t) => {
  const mount = mkdtempSync(path.join(tmpdir(), 'oci-fake-cgroup2-'));
  t.teardown(() => rmSync(mount, { recursive: true, force: true }));
  const dir = path.join(mount, 'c1');
  mkdirSync(dir);
  const events = path.join(dir, 'memory.events');
  writeFileSync(events, 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n');
  writeFileSync(path.join(dir, 'pids.current'), '1\n');
  const layout: Layout = {
    mode: 'v2',
    hierarchies: [{ version: 2, mountPoint: mount, mountRoot: '/', controllers: ['memory', 'pids'], key: '' }],
    own: new Map(),
  };
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const seen: string[] = [];
  const done = (async () => {
    for await (const event of containerEvents({ id: 'c1', layout, record: { dirs: [dir], unified: dir, created: [] }, interval: 50, stopped }))
      seen.push(event.type);
  })();
  await new Promise((resolve) => setTimeout(resolve, 120));
  writeFileSync(events, 'low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n');
  await new Promise((resolve) => setTimeout(resolve, 120));
  writeFileSync(events, 'low 0\nhigh 0\nmax 4\noom 3\noom_kill 3\n'); // noticed at the latest when the container stops
  stop();
  await done;
  t.is(seen.filter((type) => type === 'oom').length, 3);
  t.true(seen.filter((type) => type === 'stats').length >= 2);
});
