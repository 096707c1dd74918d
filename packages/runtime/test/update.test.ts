/**
 * update on cgroup v2, against a directory laid out like a v2 cgroup (this host's unified
 * hierarchy has no memory or cpu controller to try it on): the values v2 files receive, pairs
 * completed from the current values, and what a failed write puts back.
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { CgroupRecord } from '../src/cgroups/cgroup.js';
import type { Layout } from '../src/cgroups/layout.js';
import { updateCgroup } from '../src/cgroups/update.js';

const V2_FILES: Record<string, string> = {
  'memory.max': 'max',
  'memory.swap.max': 'max',
  'memory.low': '0',
  'memory.current': '1048576',
  'cpu.max': 'max 100000',
  'cpu.weight': '100',
  'pids.max': 'max',
  'cpuset.cpus': '',
};

function fakeV2(t: { teardown(fn: () => void): void }) {
  const mount = mkdtempSync(path.join(tmpdir(), 'oci-fake-cgroup2-'));
  t.teardown(() => rmSync(mount, { recursive: true, force: true }));
  const dir = path.join(mount, 'c1');
  mkdirSync(dir);
  for (const [file, value] of Object.entries(V2_FILES)) writeFileSync(path.join(dir, file), `${value}\n`);
  const layout: Layout = {
    mode: 'v2',
    hierarchies: [{ version: 2, mountPoint: mount, mountRoot: '/', controllers: ['cpu', 'cpuset', 'memory', 'pids'], key: '' }],
    own: new Map([['', '/']]),
  };
  const record: CgroupRecord = { dirs: [dir], unified: dir, created: [dir] };
  const read = (file: string) => readFileSync(path.join(dir, file), 'utf8').trim();
  return { layout, record, read, update: (r: Parameters<typeof updateCgroup>[2]) => updateCgroup(layout, record, r) };
}

test('v2: memory+swap becomes swap alone, completed with the current memory.max when only swap is given', (t) => {
  const c = fakeV2(t);
  c.update({ memory: { limit: 64 << 20, swap: 96 << 20 } });
  t.is(c.read('memory.max'), String(64 << 20));
  t.is(c.read('memory.swap.max'), String(32 << 20));
  c.update({ memory: { swap: 128 << 20 } });
  t.is(c.read('memory.max'), String(64 << 20));
  t.is(c.read('memory.swap.max'), String(64 << 20));
  c.update({ memory: { limit: -1 } });
  t.is(c.read('memory.max'), 'max');
  t.is(c.read('memory.swap.max'), 'max', 'no memory limit lifts the swap limit too');
  t.throws(() => c.update({ memory: { swap: 1 << 30 } }), { message: /swap needs a memory limit/ });
});

test('v2: cpu.max keeps the period when only the quota changes, and the quota when only the period does', (t) => {
  const c = fakeV2(t);
  c.update({ cpu: { quota: 20000 } });
  t.is(c.read('cpu.max'), '20000 100000');
  c.update({ cpu: { period: 50000 } });
  t.is(c.read('cpu.max'), '20000 50000');
  c.update({ cpu: { quota: -1 } });
  t.is(c.read('cpu.max'), 'max 50000');
  c.update({ cpu: { shares: 1024 }, pids: { limit: 10 } });
  t.is(c.read('cpu.weight'), '39');
  t.is(c.read('pids.max'), '10');
  t.is(c.read('cpu.max'), 'max 50000', 'untouched');
});

test('v2: checkBeforeUpdate refuses a memory limit below the current usage', (t) => {
  const c = fakeV2(t);
  t.throws(() => c.update({ memory: { limit: 4096, checkBeforeUpdate: true } }), { message: /below the current usage 1048576/ });
  t.is(c.read('memory.max'), 'max');
  c.update({ memory: { limit: 4096 } });
  t.is(c.read('memory.max'), '4096');
});

test('a failed write puts back the files written before it', (t) => {
  const c = fakeV2(t);
  rmSync(path.join(c.record.dirs[0]!, 'pids.max')); // the write to it fails
  t.throws(() => c.update({ memory: { limit: 1 << 30 }, cpu: { quota: 1000, period: 10000 }, pids: { limit: 5 } }), { message: /pids\.max: ENOENT/ });
  t.is(c.read('memory.max'), 'max');
  t.is(c.read('cpu.max'), 'max 100000');
});
