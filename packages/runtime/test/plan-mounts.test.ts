/** How the runtime-spec's mounts become the helper's mount ops: options, binds, /dev, /proc, cgroups. */
import test from 'ava';
import { cgroupMountOps, MS, mountOps, parseMountOptions } from '../src/plan/mounts.js';
import { cgroupMount, cgroupSources } from './helpers/plans.js';

test('mount options become flags, propagation and data as runc reads them', (t) => {
  t.deepEqual(parseMountOptions(['nosuid', 'noexec', 'nodev', 'ro', 'mode=755', 'size=65536k', 'rprivate']), {
    flags: MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY,
    propagation: [MS.PRIVATE | MS.REC],
    data: 'mode=755,size=65536k',
    copyUp: false,
  });
  t.is(parseMountOptions(['ro', 'rw', 'nosuid', 'suid', 'rbind']).flags, MS.BIND | MS.REC);
  t.throws(() => parseMountOptions(['rro']), { message: /mount option 'rro' is not supported yet/ });
});

test("tmpcopyup (podman's tmpfs mounts) is no mount data but an extension the helper performs", (t) => {
  t.deepEqual(mountOps({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'] }, '/b'), [
    ['mount', 'tmpfs', '/run', 'tmpfs', MS.NOSUID | MS.NODEV, '', 1],
    ['propagate', '/run', MS.PRIVATE | MS.REC],
  ]);
  t.throws(() => mountOps({ destination: '/x', type: 'bind', source: '/y', options: ['tmpcopyup'] }, '/b'), { message: /tmpcopyup is for tmpfs mounts only/ });
});

test("a bind mount is bound, then remounted for its flags; its relative source is the bundle's", (t) => {
  t.deepEqual(mountOps({ destination: '/data/', type: 'bind', source: 'data', options: ['ro', 'nosuid', 'rbind', 'rslave'] }, '/bundles/b'), [
    ['mount', '/bundles/b/data', '/data', '', MS.BIND | MS.REC, ''],
    ['remount', '/data', MS.BIND | MS.RDONLY | MS.NOSUID, ''],
    ['propagate', '/data', MS.SLAVE | MS.REC],
  ]);
  // A plain bind needs no remount.
  t.deepEqual(mountOps({ destination: '/x', source: '/y', options: ['bind'] }, '/b'), [['mount', '/y', '/x', '', MS.BIND, '']]);
});

test('/dev is mounted writable (devices go in first); mounts into /proc are refused', (t) => {
  t.deepEqual(mountOps({ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid', 'mode=755'] }, '/b'), [
    ['mount', 'tmpfs', '/dev', 'tmpfs', MS.NOSUID, 'mode=755'],
  ]);
  t.throws(() => mountOps({ destination: '/proc/sys/kernel', type: 'bind', source: '/x', options: ['bind'] }, '/b'), {
    message: /inside \/proc are not allowed/,
  });
  t.notThrows(() => mountOps({ destination: '/proc/meminfo', type: 'bind', source: '/x', options: ['bind'] }, '/b'));
});

const roFlags = MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY;

test('a v1 cgroup mount: a tmpfs of per-hierarchy mounts (fresh with a cgroup namespace), links for co-mounts', (t) => {
  t.deepEqual(cgroupMountOps(cgroupMount, cgroupSources, true), [
    ['mount', 'tmpfs', '/sys/fs/cgroup', 'tmpfs', MS.NOEXEC | MS.NOSUID | MS.NODEV, 'mode=755'],
    ['mount', 'cgroup', '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', roFlags, 'cpu,cpuacct'],
    ['symlink', 'cpu,cpuacct', '/sys/fs/cgroup/cpu'],
    ['symlink', 'cpu,cpuacct', '/sys/fs/cgroup/cpuacct'],
    ['mount', 'cgroup', '/sys/fs/cgroup/memory', 'cgroup', roFlags, 'memory'],
  ]);
  const bound = cgroupMountOps(cgroupMount, cgroupSources, false);
  t.deepEqual(bound.slice(5), [
    ['mount', '/sys/fs/cgroup/memory/c1', '/sys/fs/cgroup/memory', '', MS.BIND | MS.REC, ''],
    ['remount', '/sys/fs/cgroup/memory', roFlags | MS.BIND, ''],
  ]);
});

test('a v2 cgroup mount is cgroup2 itself', (t) => {
  const v2 = [{ name: '', fstype: 'cgroup2' as const, data: '', hostDir: '/sys/fs/cgroup/c1', aliases: [] }];
  t.deepEqual(cgroupMountOps(cgroupMount, v2, true), [['mount', 'cgroup2', '/sys/fs/cgroup', 'cgroup2', roFlags, '']]);
});
