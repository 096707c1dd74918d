/**
 * config.json's settings reaching the kernel: limits in the cgroup files (v1 here, hugetlb on
 * the v2 hierarchy of this hybrid host), device rules, and the process settings not covered
 * elsewhere (oom score, sysctls, domain name, umask, a cwd that does not exist yet), --no-pivot
 * and socket activation.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { testBundle, uniqueId } from './harness/bundle.js';
import { ociBin } from './harness/cli.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

test('limits are written to the cgroup files of each controller; an absolute cgroupsPath and its parent go on delete', async (t) => {
  const id = uniqueId('limits');
  const parent = `/oci-test-${process.pid}`;
  const b = await testBundle(t, ['sleep', '30'], (spec) => {
    spec.linux!.cgroupsPath = `${parent}/${id}`;
    spec.linux!.resources = {
      ...spec.linux!.resources,
      memory: { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20 },
      cpu: { shares: 512, quota: 20000, period: 100000, cpus: '0', mems: '0' },
      pids: { limit: 42 },
      blockIO: { weight: 300 },
      hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }],
    };
  });
  t.teardown(() => void state.oci(['delete', '--force', id]));
  t.is(state.ociDetached(['create', '--bundle', b.dir, id]).status, 0);
  const read = (controller: string, file: string) => readFileSync(path.join('/sys/fs/cgroup', controller, parent, id, file), 'utf8').trim();
  t.is(read('memory', 'memory.limit_in_bytes'), String(64 << 20));
  t.is(read('memory', 'memory.soft_limit_in_bytes'), String(32 << 20));
  t.is(read('memory', 'memory.memsw.limit_in_bytes'), String(128 << 20));
  t.is(read('cpu', 'cpu.shares'), '512');
  t.is(read('cpu', 'cpu.cfs_quota_us'), '20000');
  t.is(read('cpu', 'cpu.cfs_period_us'), '100000');
  t.is(read('cpuset', 'cpuset.cpus'), '0');
  t.is(read('pids', 'pids.max'), '42');
  // This kernel's block layer uses BFQ: the weight is blkio.bfq.weight.
  t.is(read('blkio', existsSync(path.join('/sys/fs/cgroup/blkio', parent, id, 'blkio.weight')) ? 'blkio.weight' : 'blkio.bfq.weight'), '300');
  t.is(read('unified', 'hugetlb.2MB.max'), String(4 << 20));
  t.regex(read('devices', 'devices.list'), /^c 1:3 rwm$/m);
  t.notRegex(read('devices', 'devices.list'), /^a /m);
  t.is(state.oci(['delete', '--force', id]).status, 0);
  t.false(existsSync(path.join('/sys/fs/cgroup/pids', parent)), 'the parent made for it is gone too');
});

test('devices: linux.devices are made and usable; others can be made but not opened', async (t) => {
  const script = [
    "stat -c '%A %u %g %t:%T' /dev/extra-null",
    'echo x > /dev/extra-null && echo wrote',
    'mknod /tmp/kmsg c 1 11 && echo made',
    'head -c1 /tmp/kmsg 2>&1 || true',
  ].join('; ');
  const b = await testBundle(t, ['sh', '-c', script], (spec) => {
    spec.root!.readonly = false;
    spec.linux!.devices = [{ path: '/dev/extra-null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 1000, gid: 1000 }];
    for (const set of ['bounding', 'effective', 'permitted'] as const) spec.process!.capabilities![set]!.push('CAP_MKNOD');
  });
  const result = state.oci(['run', '--bundle', b.dir, uniqueId('dev')]);
  t.is(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  t.is(lines[0], 'crw-rw-rw- 1000 1000 1:3');
  t.deepEqual(lines.slice(1, 3), ['wrote', 'made']);
  t.regex(lines[3]!, /Operation not permitted/);
});

test('oom score, sysctls, domain name, umask and a cwd made for the process', async (t) => {
  const script = 'cat /proc/self/oom_score_adj /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/domainname; umask; pwd';
  const b = await testBundle(t, ['sh', '-c', script], (spec) => {
    spec.process!.oomScoreAdj = 300;
    spec.process!.user.umask = 0o077;
    spec.process!.cwd = '/srv/work';
    spec.root!.readonly = false;
    spec.domainname = 'example.org';
    spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
  });
  const result = state.oci(['run', '--bundle', b.dir, uniqueId('settings')]);
  t.is(result.status, 0, result.stderr);
  t.deepEqual(result.stdout.trim().split('\n'), ['300', '1', 'example.org', '0077', '/srv/work']);
});

test('--no-pivot runs the container chrooted (for a rootfs on ramfs)', async (t) => {
  const b = await testBundle(t, ['sh', '-c', 'echo $$; ls /bin/busybox']);
  const result = state.oci(['run', '--no-pivot', '--bundle', b.dir, uniqueId('nopivot')]);
  t.is(result.status, 0, result.stderr);
  t.deepEqual(result.stdout.trim().split('\n'), ['1', '/bin/busybox']);
});

test('socket activation: LISTEN_FDS handed to oci are passed on and announced, as runc does', async (t) => {
  const out = tempDir('listen');
  t.teardown(out.remove);
  const b = await testBundle(t, ['sh', '-c', 'echo "$LISTEN_FDS $LISTEN_PID"; echo via-listen-fd >&3']);
  // LISTEN_PID must be the pid of oci itself: the shell's, which exec keeps.
  const line = `exec 3>${path.join(out.dir, 'socket')}; LISTEN_FDS=1 LISTEN_PID=$$ exec ${process.execPath} ${ociBin} --root ${state.root} run --bundle ${b.dir} ${uniqueId('listen')}`;
  const result = spawnSync('sh', ['-c', line], { encoding: 'utf8' });
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout, '1 1\n');
  t.is(readFileSync(path.join(out.dir, 'socket'), 'utf8'), 'via-listen-fd\n');
});
