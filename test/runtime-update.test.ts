/**
 * `oci update`: new limits in a running container's cgroups (v1 on this host), the kernel
 * enforcing them, runc's flags and --resources JSON, and nothing half-applied on failure.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { busyboxBundle, uniqueId } from './harness/bundle.js';
import { eventually, type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

type T = { teardown(fn: () => void): void; is(a: unknown, b: unknown, m?: string): void };

/** A running container (`script` in sh, /out bound to a host dir); its cgroup files by controller. */
async function running(t: T, script: string, adjust?: Parameters<typeof busyboxBundle>[1]) {
  const out = tempDir('update-out');
  t.teardown(out.remove);
  const b = await busyboxBundle(['sh', '-c', script], (spec) => {
    spec.mounts!.push({ destination: '/out', type: 'bind', source: out.dir, options: ['rbind', 'rw'] });
    adjust?.(spec);
  });
  t.teardown(b.remove);
  const id = uniqueId('update');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  const run = state.ociDetached(['run', '--detach', '--bundle', b.dir, id]);
  t.is(run.status, 0, run.stderr);
  const dirs = state.cgroups(id);
  const read = (controller: string, file: string) => readFileSync(path.join(dirs.find((d) => d.includes(`/${controller}/`))!, file), 'utf8').trim();
  return { id, out: (name: string) => path.join(out.dir, name), read };
}

test('a memory limit lowered by update is enforced by the kernel: what fitted before is OOM-killed after', async (t) => {
  // Each round waits for its go file, then allocates 64 MiB and records dd's exit status.
  const round = (n: number) =>
    `while [ ! -e /out/go${n} ]; do sleep 0.02; done; dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo $? > /out/.r${n}; mv /out/.r${n} /out/r${n}`;
  const c = await running(t, `${round(1)}; ${round(2)}; sleep 1000`);
  const result = async (n: number) => {
    writeFileSync(c.out(`go${n}`), '');
    await eventually(() => existsSync(c.out(`r${n}`)), 20_000);
    return readFileSync(c.out(`r${n}`), 'utf8').trim();
  };
  t.is(await result(1), '0', '64 MiB fit without a limit');
  const update = state.oci(['update', '--memory', '32m', '--memory-swap', '32m', c.id]);
  t.is(update.status, 0, update.stderr);
  t.is(c.read('memory', 'memory.limit_in_bytes'), String(32 << 20));
  t.is(await result(2), String(128 + 9), 'dd is OOM-killed under the new limit');
});

test('memory and memory+swap go in the order the kernel accepts, raising and lowering both', async (t) => {
  const c = await running(t, 'sleep 1000', (spec) => {
    spec.linux!.resources!.memory = { limit: 64 << 20, swap: 128 << 20 };
  });
  const memory = () => [c.read('memory', 'memory.limit_in_bytes'), c.read('memory', 'memory.memsw.limit_in_bytes')].map(Number);
  t.is(state.oci(['update', '--memory', '256m', '--memory-swap', '512m', c.id]).status, 0);
  t.deepEqual(memory(), [256 << 20, 512 << 20]);
  t.is(state.oci(['update', '--memory', '32m', '--memory-swap', '40m', c.id]).status, 0);
  t.deepEqual(memory(), [32 << 20, 40 << 20]);
  t.is(state.oci(['update', '--memory-swap', '100m', c.id]).status, 0, 'memory+swap alone keeps the memory limit');
  t.deepEqual(memory(), [32 << 20, 100 << 20]);
  t.is(state.oci(['update', '--memory', '-1', c.id]).status, 0, 'no memory limit lifts memory+swap too');
  t.true(memory().every((n) => n > 2 ** 62));
});

test("runc's flags and --resources (a file or stdin) reach the cgroup files; what is not given stays", async (t) => {
  const c = await running(t, 'sleep 1000', (spec) => {
    spec.linux!.resources!.cpu = { quota: 50000, period: 100000 };
    spec.linux!.resources!.pids = { limit: 100 };
  });
  const flags = state.oci(['update', '--cpu-share', '512', '--cpu-quota', '20000', '--pids-limit', '50', '--cpuset-cpus', '0', '--blkio-weight', '300', c.id]);
  t.is(flags.status, 0, flags.stderr);
  t.is(c.read('cpu', 'cpu.shares'), '512');
  t.is(c.read('cpu', 'cpu.cfs_quota_us'), '20000');
  t.is(c.read('cpu', 'cpu.cfs_period_us'), '100000', 'the period stays');
  t.is(c.read('pids', 'pids.max'), '50');
  t.is(c.read('cpuset', 'cpuset.cpus'), '0');

  const file = c.out('resources.json');
  writeFileSync(file, JSON.stringify({ cpu: { period: 50000 }, pids: { limit: -1 } }));
  t.is(state.oci(['update', '--resources', file, c.id]).status, 0);
  t.is(c.read('cpu', 'cpu.cfs_period_us'), '50000');
  t.is(c.read('cpu', 'cpu.cfs_quota_us'), '20000', 'the quota stays');
  t.is(c.read('pids', 'pids.max'), 'max');
  const stdin = state.oci(['update', '-r', '-', c.id], { input: JSON.stringify({ memory: { limit: 100 << 20 } }) });
  t.is(stdin.status, 0, stdin.stderr);
  t.is(c.read('memory', 'memory.limit_in_bytes'), String(100 << 20));
  t.is(c.read('cpu', 'cpu.shares'), '512', 'an update leaves the other limits alone');
  const devices = state.oci(['update', '-r', '-', c.id], { input: JSON.stringify({ devices: [{ allow: true, access: 'rwm' }] }) });
  t.is(devices.status, 0);
  t.regex(devices.stderr, /update leaves device rules as they are/, 'device rules are never changed, and it says so');
});

test('a failed update puts back what it had written; bad input is one clear line', async (t) => {
  const c = await running(t, 'sleep 1000', (spec) => {
    spec.linux!.resources!.memory = { limit: 64 << 20 };
  });
  const failed = state.oci(['update', '-r', '-', c.id], { input: JSON.stringify({ memory: { limit: 128 << 20 }, cpu: { cpus: '4096' } }) });
  t.is(failed.status, 1);
  t.regex(failed.stderr, /^oci: update \S+: cgroup: write 4096 to cpuset.cpus: E[A-Z]+\n$/);
  t.is(c.read('memory', 'memory.limit_in_bytes'), String(64 << 20), 'the memory limit written first is back');

  const below = state.oci(['update', '--memory', '64k', c.id]);
  t.regex(below.stderr, /cannot set the memory limit to 65536: the container uses \d+/);
  t.regex(state.oci(['update', '--memory', 'lots', c.id]).stderr, /--memory needs a size like 64m or 1g \(got 'lots'\)/);
  t.regex(state.oci(['update', '-r', '-', c.id], { input: '{"pids":{"limit":"ten"}}' }).stderr, /pids.limit must be an integer/);
  t.regex(state.oci(['update', '-r', '-', c.id], { input: 'nope' }).stderr, /not valid JSON/);
  t.regex(state.oci(['update', '--memory', '1g', 'no-such-container']).stderr, /does not exist/);
  t.is(state.oci(['kill', c.id, 'KILL']).status, 0);
  await eventually(() => JSON.parse(state.oci(['state', c.id]).stdout).status === 'stopped');
  t.regex(state.oci(['update', '--memory', '1g', c.id]).stderr, /container not running/);
});
