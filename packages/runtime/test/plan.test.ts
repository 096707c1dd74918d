import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultSpec } from '@oci/bundle/default-spec';
import type { Seccomp, Spec } from '@oci/spec';
import { initPlan, type InitPlanOptions } from '../src/plan/build.js';
import { execPlan, type ExecPlanOptions } from '../src/plan/exec.js';
import { homeOf, resolveInRoot } from '../src/plan/home.js';
import { cgroupMountOps, MS, mountOps, parseMountOptions } from '../src/plan/mounts.js';
import { CLONE_NEW, unsharedNamespaces } from '../src/plan/namespaces.js';
import { encodePlan, HELPER_PROTOCOL, type Op } from '../src/plan/ops.js';
import { credentialsOp, environment, rlimitOps } from '../src/plan/process.js';
import { userNamespacePlan } from '../src/plan/userns.js';

test('the wire format: length, then NAME, COUNT and arguments, each NUL-terminated, the protocol first', (t) => {
  const bytes = encodePlan([['umask', 0o22], ['mount', 'proc', '/proc', 'proc', 0, ''], ['rlimit', 7, 0xffff_ffff_ffff_ffffn, 1n]]);
  const body = `protocol\x001\x00${HELPER_PROTOCOL}\x00umask\x001\x0018\x00mount\x005\x00proc\x00/proc\x00proc\x000\x00\x00rlimit\x003\x007\x000xffffffffffffffff\x000x1\x00`;
  t.is(bytes.readUInt32LE(0), body.length);
  t.is(bytes.subarray(4).toString(), body);
  t.throws(() => encodePlan([['hostname', 'a\0b']]), { message: /NUL/ });
  t.throws(() => encodePlan([['umask', 1.5]]), { message: /op 'umask': 1.5 is not what its signature says \('u'\)/ });
  t.throws(() => encodePlan([['umask', -1]]), { message: /op 'umask': -1 is not what/ });
  t.throws(() => encodePlan([['mount', 'proc', '/proc', 'proc', 0]] as unknown as Op[]), { message: /op 'mount' takes 'sssus\|u', got 4 arguments/ });
  t.throws(() => encodePlan([['setsid', 'x']] as unknown as Op[]), { message: /op 'setsid' takes '', got 1 arguments/ });
});

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

test('a bind mount is bound, then remounted for its flags; its relative source is the bundle\'s', (t) => {
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
  t.throws(() => mountOps({ destination: '/proc/sys/kernel', type: 'bind', source: '/x', options: ['bind'] }, '/b'), { message: /inside \/proc are not allowed/ });
  t.notThrows(() => mountOps({ destination: '/proc/meminfo', type: 'bind', source: '/x', options: ['bind'] }, '/b'));
});

const sources = [
  { name: 'cpu,cpuacct', fstype: 'cgroup' as const, data: 'cpu,cpuacct', hostDir: '/sys/fs/cgroup/cpu,cpuacct/c1', aliases: ['cpu', 'cpuacct'] },
  { name: 'memory', fstype: 'cgroup' as const, data: 'memory', hostDir: '/sys/fs/cgroup/memory/c1', aliases: [] },
];
const cgroupMount = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'ro'] };
const roFlags = MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY;

test('a v1 cgroup mount: a tmpfs of per-hierarchy mounts (fresh with a cgroup namespace), links for co-mounts', (t) => {
  t.deepEqual(cgroupMountOps(cgroupMount, sources, true), [
    ['mount', 'tmpfs', '/sys/fs/cgroup', 'tmpfs', MS.NOEXEC | MS.NOSUID | MS.NODEV, 'mode=755'],
    ['mount', 'cgroup', '/sys/fs/cgroup/cpu,cpuacct', 'cgroup', roFlags, 'cpu,cpuacct'],
    ['symlink', 'cpu,cpuacct', '/sys/fs/cgroup/cpu'],
    ['symlink', 'cpu,cpuacct', '/sys/fs/cgroup/cpuacct'],
    ['mount', 'cgroup', '/sys/fs/cgroup/memory', 'cgroup', roFlags, 'memory'],
  ]);
  const bound = cgroupMountOps(cgroupMount, sources, false);
  t.deepEqual(bound.slice(5), [
    ['mount', '/sys/fs/cgroup/memory/c1', '/sys/fs/cgroup/memory', '', MS.BIND | MS.REC, ''],
    ['remount', '/sys/fs/cgroup/memory', roFlags | MS.BIND, ''],
  ]);
});

test('a v2 cgroup mount is cgroup2 itself', (t) => {
  const v2 = [{ name: '', fstype: 'cgroup2' as const, data: '', hostDir: '/sys/fs/cgroup/c1', aliases: [] }];
  t.deepEqual(cgroupMountOps(cgroupMount, v2, true), [['mount', 'cgroup2', '/sys/fs/cgroup', 'cgroup2', roFlags, '']]);
});

function plan(adjust: (spec: Spec) => void = () => {}, options: Partial<InitPlanOptions> = {}): Op[] {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  adjust(spec);
  return initPlan({
    id: 'c1',
    bundle: { dir: '/b', rootfs: '/b/rootfs', spec },
    stateDir: '/run/oci/c1',
    cgroup: { dirs: ['/sys/fs/cgroup/memory/c1', '/sys/fs/cgroup/unified/c1'], unified: '/sys/fs/cgroup/unified/c1' },
    cgroupMounts: sources,
    host: { lastCap: 40, kcore: false },
    home: '/root',
    passFds: 0,
    ...options,
  });
}

const names = (ops: Op[]) => ops.map((op) => op[0]);
const find = (ops: Op[], name: string) => ops.find((op) => op[0] === name);

test('the plan for the default spec runs the steps in runc\'s order', (t) => {
  const ops = plan();
  const order = [...new Set(names(ops))];
  t.deepEqual(order, [
    'cgroup', 'start_socket', 'clone', 'setsid', 'session_keyring', 'propagate', 'rootfs', 'mount', 'symlink', 'mkdirs', 'mknod', 'pivot_root',
    'remount_readonly', 'hostname', 'readonly_path', 'mask', 'rlimit', 'no_new_privs', 'chdir', 'close_fds', 'credentials',
    'umask', 'find_program', 'ready', 'wait_start', 'exec',
  ]);
  // v1 cgroups are joined; the v2 one is cloned into.
  t.deepEqual(ops.filter((op) => op[0] === 'cgroup'), [['cgroup', '/sys/fs/cgroup/memory/c1']]);
  const { pid, network, ipc, uts, mount, cgroup } = CLONE_NEW;
  t.deepEqual(find(ops, 'clone'), ['clone', pid | network | ipc | uts | mount | cgroup, '/sys/fs/cgroup/unified/c1']);
  t.deepEqual(find(ops, 'exec'), ['exec', 1, 'sh', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm', 'HOME=/root']);
  t.deepEqual(find(ops, 'find_program'), ['find_program', 'sh', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  t.deepEqual(find(ops, 'umask'), ['umask', 0o22]);
  t.deepEqual(find(ops, 'session_keyring'), ['session_keyring', '_ses.c1']);
  t.falsy(find(plan(undefined, { noNewKeyring: true }), 'session_keyring'));
});

test('seccomp: just before exec with no_new_privs, before the credentials (still privileged) without it', (t) => {
  const seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
  const withNnp = names(plan((spec) => (spec.linux!.seccomp = seccomp)));
  t.deepEqual(withNnp.slice(-2), ['seccomp', 'exec']);
  t.true(withNnp.indexOf('seccomp') > withNnp.indexOf('wait_start'));
  const without = names(plan((spec) => {
    spec.linux!.seccomp = seccomp;
    spec.process!.noNewPrivileges = false;
  }));
  t.is(without.indexOf('seccomp'), without.indexOf('credentials') - 1);
  t.false(without.includes('no_new_privs'));
  const op = find(plan((spec) => (spec.linux!.seccomp = seccomp)), 'seccomp')!;
  t.is(op[1], 0); // no flags
  t.regex(op[2] as string, /^([0-9a-f]{16})+$/); // struct sock_filter[]
  t.deepEqual(op.slice(3), [-1, '']);
});

test('hooks: the runtime\'s run at a sync before createContainer\'s, both before pivot_root; startContainer\'s after start', (t) => {
  const ops = plan((spec) => {
    spec.annotations = { k: 'v' };
    spec.hooks = {
      prestart: [{ path: '/bin/pre' }],
      createContainer: [{ path: '/bin/cc', args: ['cc', '-x'], env: ['A=1'], timeout: 5 }],
      startContainer: [{ path: '/bin/sc' }],
      poststart: [{ path: '/bin/post' }],
    };
  });
  const order = names(ops);
  t.true(order.indexOf('mknod') < order.indexOf('sync'));
  t.deepEqual(order.slice(order.indexOf('sync'), order.indexOf('pivot_root') + 1), ['sync', 'hook', 'pivot_root']);
  t.deepEqual(order.slice(order.indexOf('wait_start')), ['wait_start', 'hook', 'exec']);
  const [createContainer, startContainer] = ops.filter((op) => op[0] === 'hook');
  t.deepEqual(createContainer!.slice(0, 2), ['hook', 'createContainer hook #0 /bin/cc']);
  t.deepEqual(createContainer!.slice(4), ['/bin/cc', 2, 'cc', '-x', 'A=1']);
  t.is(createContainer![2], 5);
  // The state with the pid left to the helper (0x01).
  t.is(createContainer![3], '{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":\u0001,"bundle":"/b","annotations":{"k":"v"}}');
  t.deepEqual(startContainer!.slice(4), ['/bin/sc', 1, '/bin/sc']);
  t.regex(startContainer![3] as string, /"status":"created"/);
  // No sync without prestart or createRuntime hooks.
  t.false(names(plan((spec) => (spec.hooks = { poststart: [{ path: '/x' }] }))).includes('sync'));
});

function withUserNamespace(spec: Spec, uids = [{ containerID: 0, hostID: 100000, size: 65536 }], gids = uids) {
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.linux!.uidMappings = uids;
  spec.linux!.gidMappings = gids;
}

test('a user namespace: maps and rlimits before clone, device nodes bound, sysfs borrowed without a network namespace', (t) => {
  const ops = plan((spec) => {
    withUserNamespace(spec, [{ containerID: 0, hostID: 100000, size: 1000 }, { containerID: 1000, hostID: 5000, size: 1 }]);
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'network');
  }, { caller: { uid: 0, gid: 0 } });
  const order = names(ops);
  t.true(order.indexOf('id_maps') < order.indexOf('clone'));
  t.true(order.lastIndexOf('rlimit') < order.indexOf('clone'));
  t.deepEqual(find(ops, 'id_maps'), ['id_maps', '0 100000 1000\n1000 5000 1', '0 100000 1000\n1000 5000 1', '', '', '']);
  t.is((find(ops, 'clone')![1] as number) & CLONE_NEW.user, CLONE_NEW.user);
  t.false(order.includes('mknod'));
  t.deepEqual(ops.filter((op) => op[0] === 'mount' && op[2] === '/dev/null'), [['mount', '/dev/null', '/dev/null', '', MS.BIND, '']]);
  t.deepEqual(ops.filter((op) => op[0] === 'mount' && op[2] === '/sys'), [['mount', '/sys', '/sys', '', MS.BIND | MS.REC, '']]);
  t.deepEqual(ops.find((op) => op[0] === 'remount' && op[1] === '/sys'), ['remount', '/sys', MS.BIND | MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY, '']);
  // With its own ipc namespace, mqueue is mounted afresh.
  t.deepEqual(ops.filter((op) => op[0] === 'mount' && op[2] === '/dev/mqueue')[0]!.slice(1, 4), ['mqueue', '/dev/mqueue', 'mqueue']);
  // cgroup v1 hierarchies are bound, not mounted afresh, even with a cgroup namespace.
  const cgroups = plan((spec) => {
    withUserNamespace(spec);
    spec.mounts!.push(cgroupMount);
  }, { caller: { uid: 0, gid: 0 } });
  t.true(cgroups.some((op) => op[0] === 'mount' && op[1] === '/sys/fs/cgroup/memory/c1'));
  t.false(cgroups.some((op) => op[0] === 'mount' && op[3] === 'cgroup'));
  // Without a user namespace: devices made, sysfs mounted, rlimits late.
  const plain = names(plan());
  t.true(plain.includes('mknod') && !plain.includes('id_maps'));
  t.true(plain.indexOf('rlimit') > plain.indexOf('pivot_root'));
});

test('rootless: its own ids written directly (setgroups denied, groups kept), others through newuidmap within /etc/subuid', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-subid-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = { subuid: path.join(dir, 'subuid'), subgid: path.join(dir, 'subgid') };
  writeFileSync(files.subuid, 'someone:300000:10\nalice:200000:65536\n');
  writeFileSync(files.subgid, '1000:200000:65536\n');
  const alice = { uid: 1000, gid: 1000, name: 'alice' };
  const spec = defaultSpec();
  withUserNamespace(spec, [{ containerID: 0, hostID: 1000, size: 1 }]);
  t.deepEqual(userNamespacePlan(spec, alice, files), { op: ['id_maps', '0 1000 1', '0 1000 1', 'deny', '', ''], setgroupsDenied: true });
  const ops = plan((s) => withUserNamespace(s, [{ containerID: 0, hostID: 1000, size: 1 }]), { caller: alice });
  t.is(find(ops, 'credentials')![3], '-');
  t.throws(() => plan((s) => {
    withUserNamespace(s, [{ containerID: 0, hostID: 1000, size: 1 }]);
    s.process!.user.additionalGids = [0];
  }, { caller: alice }), { message: /additionalGids need setgroups/ });

  withUserNamespace(spec, [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 200000, size: 65536 }]);
  const mapped = userNamespacePlan(spec, alice, files)!;
  t.false(mapped.setgroupsDenied);
  t.deepEqual(mapped.op.slice(1, 4), ['0 1000 1\n1 200000 65536', '0 1000 1\n1 200000 65536', '']);
  t.regex(mapped.op[4] as string, /\/newuidmap$/);
  t.regex(mapped.op[5] as string, /\/newgidmap$/);

  withUserNamespace(spec, [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 300000, size: 11 }]);
  t.throws(() => userNamespacePlan(spec, alice, files), { message: /linux\.uidMappings: host uids 300000-300010 are neither yours \(1000\) nor subordinate uids of alice in .*subuid/ });
  // Root writes any map itself.
  t.deepEqual(userNamespacePlan(spec, { uid: 0, gid: 0 }, files)!.op.slice(3), ['', '', '']);
});

test('namespaces given by path are joined before clone and not created', (t) => {
  const ops = plan((spec) => {
    spec.linux!.namespaces = [{ type: 'mount' }, { type: 'network', path: '/proc/42/ns/net' }, { type: 'user', path: '/proc/42/ns/user' }];
  });
  const before = ops.slice(0, ops.findIndex((op) => op[0] === 'clone'));
  t.deepEqual(before.filter((op) => op[0] === 'setns'), [
    ['setns', '/proc/42/ns/user', CLONE_NEW.user],
    ['setns', '/proc/42/ns/net', CLONE_NEW.network],
  ]);
  t.is(find(ops, 'clone')![1], CLONE_NEW.mount);
});

test('a time namespace gets its offsets before clone', (t) => {
  const ops = plan((spec) => {
    spec.linux!.namespaces!.push({ type: 'time' });
    spec.linux!.timeOffsets = { monotonic: { secs: 100, nanosecs: 5 } };
  });
  t.deepEqual(find(ops, 'timens'), ['timens', 100, 5, 0, 0]);
  t.is((find(ops, 'clone')![1] as number) & CLONE_NEW.time, 0);
});

test('--no-pivot chroots; a terminal is opened after pivoting, on the given fd', (t) => {
  t.deepEqual(find(plan(undefined, { noPivot: true }), 'chroot'), ['chroot', 1]);
  t.falsy(find(plan(undefined, { noPivot: true }), 'pivot_root'));
  const ops = plan((spec) => (spec.process!.terminal = true), { consoleFd: 5 });
  t.deepEqual(find(ops, 'console'), ['console', 5, 0, 0]);
  t.true(names(ops).indexOf('console') > names(ops).indexOf('pivot_root'));
  t.true(names(ops).indexOf('dev_console') === names(ops).indexOf('console') + 1);
  t.throws(() => plan((spec) => (spec.process!.terminal = true)), { message: /console socket is needed/ });
});

test('a /dev bound from the host gets no device nodes', (t) => {
  const ops = plan((spec) => {
    spec.mounts = spec.mounts!.map((m) => (m.destination === '/dev' ? { destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] } : m));
  });
  t.falsy(find(ops, 'mknod'));
  t.deepEqual(plan().filter((op) => op[0] === 'mknod').map((op) => op[1]), ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);
});

test('sysctls only in the container\'s own namespaces; rootfsPropagation after pivot_root', (t) => {
  const ops = plan((spec) => {
    spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '100', 'net/ipv4/conf/eth0.1/forwarding': '1' };
    spec.linux!.rootfsPropagation = 'rshared';
  });
  t.deepEqual(ops.filter((op) => op[0] === 'sysctl'), [
    ['sysctl', 'net/ipv4/ip_forward', '1'],
    ['sysctl', 'kernel/shmmax', '100'],
    ['sysctl', 'net/ipv4/conf/eth0.1/forwarding', '1'],
  ]);
  t.throws(() => plan((spec) => (spec.linux!.sysctl = { 'vm.swappiness': '1' })), { message: /not in a separate kernel namespace/ });
  t.throws(() => plan((spec) => (spec.linux!.sysctl = { 'net/../../x': '1' })), { message: /invalid key/ });
  const propagations = ops.filter((op) => op[0] === 'propagate');
  t.deepEqual(propagations.at(0), ['propagate', '/', MS.SLAVE | MS.REC]);
  t.deepEqual(propagations.at(-1), ['propagate', '/', MS.SHARED | MS.REC]);
  t.true(ops.indexOf(propagations.at(-1)!) > names(ops).indexOf('pivot_root'));
});

test('capability sets become masks; ambient keeps only what is permitted and inheritable', (t) => {
  const unknown: string[] = [];
  const op = credentialsOp(
    {
      cwd: '/',
      user: { uid: 1, gid: 2, additionalGids: [3, 4] },
      capabilities: {
        bounding: ['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_CHECKPOINT_RESTORE', 'CAP_BOGUS'],
        permitted: ['CAP_CHOWN', 'CAP_KILL'],
        inheritable: ['CAP_KILL'],
        ambient: ['CAP_CHOWN', 'CAP_KILL'],
      },
    },
    { lastCap: 39, onUnknown: (name) => unknown.push(name) },
  );
  // CAP_CHECKPOINT_RESTORE (40) is past this kernel's last capability: dropped.
  t.deepEqual(op, ['credentials', 1, 2, '3,4', (1n << 0n) | (1n << 21n), 0n, (1n << 0n) | (1n << 5n), 1n << 5n, 1n << 5n]);
  t.deepEqual(unknown, ['CAP_BOGUS']);
});

test('rlimits: names to numbers, infinity, and refusals', (t) => {
  t.deepEqual(rlimitOps({ cwd: '/', user: { uid: 0, gid: 0 }, rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2 ** 64 }] }), [
    ['rlimit', 7, 1024n, 0xffff_ffff_ffff_ffffn],
  ]);
  const rlimits = (list: { type: string; soft: number; hard: number }[]) => () => rlimitOps({ cwd: '/', user: { uid: 0, gid: 0 }, rlimits: list });
  t.throws(rlimits([{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }]), { message: /unknown type 'RLIMIT_BOGUS'/ });
  t.throws(rlimits([{ type: 'RLIMIT_CORE', soft: 1, hard: 1 }, { type: 'RLIMIT_CORE', soft: 1, hard: 1 }]), { message: /listed twice/ });
  t.throws(rlimits([{ type: 'RLIMIT_CORE', soft: 2, hard: 1 }]), { message: /soft limit 2 is above hard limit 1/ });
});

test('HOME comes from the rootfs\'s passwd, resolved inside the rootfs', (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'oci-home-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'etc'));
  mkdirSync(path.join(root, 'shadow'));
  writeFileSync(path.join(root, 'shadow', 'passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  // An absolute link that would leave the rootfs on the host resolves inside it.
  symlinkSync('/../../../shadow/passwd', path.join(root, 'etc', 'passwd'));
  t.is(resolveInRoot(root, '/etc/passwd'), path.join(root, 'shadow', 'passwd'));
  t.is(homeOf(root, 1000), '/home/app');
  t.is(homeOf(root, 4242), '/');
  t.deepEqual(environment({ cwd: '/', user: { uid: 0, gid: 0 }, env: ['HOME=/x'] }, '/root'), ['HOME=/x']);
});

function planExec(adjust: (options: ExecPlanOptions) => void = () => {}): Op[] {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  const options: ExecPlanOptions = {
    id: 'c1',
    bundle: '/b',
    spec,
    process: { ...structuredClone(spec.process!), args: ['ps', 'x'] },
    container: { pid: 4242, startTime: '987654' },
    namespaces: CLONE_NEW.pid | CLONE_NEW.mount | CLONE_NEW.network | CLONE_NEW.uts | CLONE_NEW.ipc,
    cgroup: { dirs: ['/sys/fs/cgroup/memory/c1', '/sys/fs/cgroup/unified/c1'], unified: '/sys/fs/cgroup/unified/c1' },
    host: { lastCap: 40, kcore: false },
    home: '/root',
    passFds: 0,
  };
  adjust(options);
  return execPlan(options);
}

test('the exec plan enters the container (its cgroups, namespaces, pid namespace through clone) and mounts nothing', (t) => {
  const ops = planExec();
  t.deepEqual(names(ops), [
    'cgroup', 'container', 'join', 'clone', 'join', 'setsid', 'session_keyring', 'rlimit', 'no_new_privs', 'chdir', 'close_fds',
    'credentials', 'umask', 'find_program', 'exec',
  ]);
  t.deepEqual(find(ops, 'cgroup'), ['cgroup', '/sys/fs/cgroup/memory/c1']);
  t.deepEqual(find(ops, 'container'), ['container', 4242, '987654']);
  const joins = ops.filter((op) => op[0] === 'join');
  // The mount namespace last, in the process: clone's cgroup path is the host's.
  t.deepEqual(joins, [['join', CLONE_NEW.pid | CLONE_NEW.network | CLONE_NEW.uts | CLONE_NEW.ipc], ['join', CLONE_NEW.mount]]);
  t.deepEqual(find(ops, 'clone'), ['clone', 0, '/sys/fs/cgroup/unified/c1']);
  t.deepEqual(find(ops, 'exec'), ['exec', 2, 'ps', 'x', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm', 'HOME=/root']);
  t.deepEqual(find(ops, 'session_keyring'), ['session_keyring', '_ses.c1'], "the container's keyring, joined by name");
  // A container sharing every namespace but the mount one with the host.
  t.deepEqual(names(planExec((o) => (o.namespaces = CLONE_NEW.mount))).slice(0, 5), ['cgroup', 'container', 'clone', 'join', 'setsid']);
});

test('exec and create give a process the same last steps, the container\'s seccomp filter among them', (t) => {
  const tail = (ops: Op[]) => ops.slice(names(ops).indexOf('rlimit'), names(ops).indexOf('find_program') + 1);
  const seccomp: Seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
  for (const noNewPrivileges of [false, true]) {
    const adjust = (spec: Spec) => {
      spec.linux!.seccomp = structuredClone(seccomp);
      spec.process!.noNewPrivileges = noNewPrivileges;
    };
    const create = plan(adjust);
    const exec = planExec((o) => {
      adjust(o.spec);
      o.process = structuredClone(o.spec.process!);
    });
    t.true(tail(create).length > 5);
    t.deepEqual(tail(exec), tail(create));
    t.truthy(find(exec, 'seccomp'));
    // With no_new_privs, as late as it can: just before exec.
    t.is(names(exec).indexOf('seccomp') === names(exec).length - 2, noNewPrivileges);
    t.deepEqual(find(exec, 'seccomp'), find(create, 'seccomp'));
  }
});

test('an exec with a terminal opens it in the container (no /dev/console); oom score: its own, else the container\'s', (t) => {
  const ops = planExec((o) => {
    o.process.terminal = true;
    o.process.consoleSize = { height: 24, width: 80 };
    o.consoleFd = 4;
  });
  t.deepEqual(find(ops, 'console'), ['console', 4, 24, 80]);
  t.true(names(ops).indexOf('console') > names(ops).lastIndexOf('join'));
  t.falsy(find(ops, 'dev_console'));
  t.deepEqual(find(planExec((o) => (o.spec.process!.oomScoreAdj = 100)), 'oom_score_adj'), ['oom_score_adj', 100]);
  t.deepEqual(find(planExec((o) => ((o.spec.process!.oomScoreAdj = 100), (o.process.oomScoreAdj = -5))), 'oom_score_adj'), ['oom_score_adj', -5]);
});

test('the namespaces an exec enters are those the container does not share with us', (t) => {
  t.is(unsharedNamespaces(process.pid), 0);
  t.is(unsharedNamespaces(2 ** 22 + 1), undefined, 'a process that does not exist');
});
