import test from 'ava';
import { cgroupDir, plannedWrites } from '../src/cgroups/cgroup.js';
import { type Layout, parseMountInfo } from '../src/cgroups/layout.js';
import { v1Writes } from '../src/cgroups/v1.js';
import { blkioToIoWeight, sharesToWeight, v2Writes } from '../src/cgroups/v2.js';

const files = (writes: { file: string; value: string }[]) => writes.map((w) => `${w.file}=${w.value}`);

test('v1: memory limit before memory+swap, the cfs period before the quota', (t) => {
  const writes = v1Writes(
    {
      memory: { limit: 1 << 20, swap: 2 << 20, reservation: 512 << 10 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
      pids: { limit: 10 },
    },
    [],
  );
  t.deepEqual(files(writes), [
    'memory.limit_in_bytes=1048576',
    'memory.memsw.limit_in_bytes=2097152',
    'memory.soft_limit_in_bytes=524288',
    'cpu.shares=512',
    'cpu.cfs_period_us=100000',
    'cpu.cfs_quota_us=50000',
    'cpuset.cpus=0',
    'cpuset.mems=0',
    'pids.max=10',
  ]);
  t.throws(() => v1Writes({ memory: { limit: 2 << 20, swap: 1 << 20 } }, []), { message: /at least the memory limit/ });
  t.throws(() => v1Writes({ memory: { swap: 1 << 20 } }, []), { message: /swap needs a memory limit/ });
});

test('v1: device rules in order, as devices.allow and devices.deny lines', (t) => {
  const writes = v1Writes({}, [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' },
  ]);
  t.deepEqual(files(writes), ['devices.deny=a *:* rwm', 'devices.allow=c 1:3 rwm', 'devices.allow=c 136:* rwm']);
  t.throws(() => v1Writes({}, [{ allow: true, type: 'x' as 'c' }]), { message: /unknown type 'x'/ });
});

test('the blkio weight has a second name, used where the BFQ scheduler renames it', (t) => {
  t.like(v1Writes({ blockIO: { weight: 300 } }, [])[0], { file: 'blkio.weight', value: '300', otherwise: 'blkio.bfq.weight' });
});

test('v2: shares to weight, quota to cpu.max, memory+swap to swap alone, blkio weight to io.weight', (t) => {
  t.is(sharesToWeight(1024), 39);
  t.is(sharesToWeight(2), 1);
  t.is(sharesToWeight(262144), 10000);
  t.is(blkioToIoWeight(500), 4950);
  const writes = v2Writes({
    memory: { limit: 100, swap: 300, reservation: 50 },
    cpu: { shares: 1024, quota: 50000, period: 100000 },
    pids: { limit: -1 },
    blockIO: { weight: 10, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 4 << 20 }],
    unified: { 'memory.high': '90' },
  });
  t.deepEqual(files(writes), [
    'memory.max=100',
    'memory.swap.max=200',
    'memory.low=50',
    'cpu.weight=39',
    'cpu.max=50000 100000',
    'pids.max=max',
    'io.weight=default 1',
    'io.max=8:0 rbps=1000',
    'hugetlb.2MB.max=4194304',
    'memory.high=90',
  ]);
  t.throws(() => v2Writes({ unified: { '../x': '1' } }), { message: /invalid file name/ });
});

const hybrid: Layout = {
  mode: 'hybrid',
  hierarchies: [
    { version: 1, mountPoint: '/sys/fs/cgroup/memory', mountRoot: '/', controllers: ['memory'], key: 'memory' },
    { version: 1, mountPoint: '/sys/fs/cgroup/devices', mountRoot: '/', controllers: ['devices'], key: 'devices' },
    { version: 2, mountPoint: '/sys/fs/cgroup/unified', mountRoot: '/', controllers: ['hugetlb'], key: '' },
  ],
  own: new Map([
    ['memory', '/session/1'],
    ['devices', '/'],
    ['', '/'],
  ]),
};

test('each limit goes to the hierarchy that has its controller: v1 first, else v2', (t) => {
  const writes = plannedWrites(hybrid, { memory: { limit: 100 }, hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, [{ allow: false, access: 'rwm' }]);
  t.deepEqual(
    writes.map((w) => [w.hierarchy.mountPoint, w.write.file]),
    [
      ['/sys/fs/cgroup/memory', 'memory.limit_in_bytes'],
      ['/sys/fs/cgroup/devices', 'devices.deny'],
      ['/sys/fs/cgroup/unified', 'hugetlb.2MB.max'],
    ],
  );
  t.throws(() => plannedWrites(hybrid, { pids: { limit: 5 } }, []), { message: /pids\.max needs the pids cgroup controller/ });
});

test('net_cls and net_prio limits without their v1 controllers are refused, naming the field: v2 has no counterpart', (t) => {
  const v2Only: Layout = {
    mode: 'v2',
    hierarchies: [{ version: 2, mountPoint: '/sys/fs/cgroup', mountRoot: '/', controllers: ['memory', 'pids'], key: '' }],
    own: new Map([['', '/']]),
  };
  for (const layout of [hybrid, v2Only]) {
    t.throws(() => plannedWrites(layout, { network: { classID: 0x100001 } }, []), {
      message: /^linux\.resources\.network\.classID: net_cls\.classid needs the net_cls cgroup controller/,
    });
    t.throws(() => plannedWrites(layout, { network: { priorities: [{ name: 'lo', priority: 2 }] } }, []), {
      message: /^linux\.resources\.network\.priorities: net_prio\.ifpriomap needs the net_prio cgroup controller/,
    });
  }
  const withNetCls: Layout = {
    ...hybrid,
    hierarchies: [...hybrid.hierarchies, { version: 1, mountPoint: '/sys/fs/cgroup/net_cls', mountRoot: '/', controllers: ['net_cls'], key: 'net_cls' }],
  };
  t.deepEqual(
    plannedWrites(withNetCls, { network: { classID: 0x100001 } }, []).map((w) => w.write.file),
    ['net_cls.classid'],
  );
});

test('cgroupsPath: absolute from the hierarchy root, relative from our own cgroup, never above the mount', (t) => {
  const [memory, devices] = hybrid.hierarchies;
  t.is(cgroupDir(hybrid, memory!, '/oci/c1'), '/sys/fs/cgroup/memory/oci/c1');
  t.is(cgroupDir(hybrid, memory!, 'c1'), '/sys/fs/cgroup/memory/session/1/c1');
  t.is(cgroupDir(hybrid, devices!, 'c1'), '/sys/fs/cgroup/devices/c1');
  const nested: Layout = { ...hybrid, hierarchies: [{ ...memory!, mountRoot: '/docker/x' }] };
  t.throws(() => cgroupDir(nested, nested.hierarchies[0]!, '/elsewhere'), { message: /outside the cgroup hierarchy/ });
  t.throws(() => cgroupDir(hybrid, memory!, '/'), { message: /outside the cgroup hierarchy/ });
  // Names that start with dots are names (runc's ids allow '...'); only '..' climbs.
  t.is(cgroupDir(hybrid, memory!, '...'), '/sys/fs/cgroup/memory/session/1/...');
  t.is(cgroupDir(hybrid, memory!, '..x'), '/sys/fs/cgroup/memory/session/1/..x');
  t.throws(() => cgroupDir(nested, nested.hierarchies[0]!, '/docker/..'), { message: /outside the cgroup hierarchy/ });
});

test('mountinfo: escaped paths, optional fields and super options', (t) => {
  const [mount] = parseMountInfo('36 35 0:33 / /sys/fs/cgroup/with\\040space rw,nosuid shared:12 master:1 - cgroup cgroup rw,cpu,cpuacct\n');
  t.deepEqual(mount, {
    root: '/',
    mountPoint: '/sys/fs/cgroup/with space',
    propagation: ['shared:12', 'master:1'],
    fstype: 'cgroup',
    superOptions: ['rw', 'cpu', 'cpuacct'],
  });
});
