/** The init plan: the helper's steps for `create`, in runc's order, and how the spec's parts change them. */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultSpec } from '@oci/bundle/default-spec';
import type { Spec } from '@oci/specs';
import test from 'ava';
import { withSubordinateIds } from '../src/caller.js';
import { MS } from '../src/plan/mounts.js';
import { CLONE_NEW } from '../src/plan/namespaces.js';
import { userNamespacePlan } from '../src/plan/userns.js';
import { cgroupMount, find, names, plan } from './helpers/plans.js';

test("the plan for the default spec runs the steps in runc's order", (t) => {
  const ops = plan();
  const order = [...new Set(names(ops))];
  t.deepEqual(order, [
    'cgroup',
    'start_socket',
    'clone',
    'setsid',
    'session_keyring',
    'propagate',
    'rootfs',
    'mount',
    'symlink',
    'mkdirs',
    'mknod',
    'pivot_root',
    'remount_readonly',
    'hostname',
    'readonly_path',
    'mask',
    'rlimit',
    'no_new_privs',
    'chdir',
    'close_fds',
    'credentials',
    'umask',
    'find_program',
    'ready',
    'wait_start',
    'exec',
  ]);
  // v1 cgroups are joined; the v2 one is cloned into.
  t.deepEqual(
    ops.filter((op) => op[0] === 'cgroup'),
    [['cgroup', '/sys/fs/cgroup/memory/c1']],
  );
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
  const without = names(
    plan((spec) => {
      spec.linux!.seccomp = seccomp;
      spec.process!.noNewPrivileges = false;
    }),
  );
  t.is(without.indexOf('seccomp'), without.indexOf('credentials') - 1);
  t.false(without.includes('no_new_privs'));
  const op = find(
    plan((spec) => (spec.linux!.seccomp = seccomp)),
    'seccomp',
  )!;
  t.is(op[1], 0); // no flags
  t.regex(op[2] as string, /^([0-9a-f]{16})+$/); // struct sock_filter[]
  t.deepEqual(op.slice(3), [-1, '']);
  // A filter the runtime did not compile is an error, never a container without it.
  t.throws(() => plan((spec) => (spec.linux!.seccomp = seccomp), { seccomp: undefined }), { instanceOf: TypeError, message: /linux\.seccomp is set/ });
});

test("hooks: the runtime's run at a sync before createContainer's, both before pivot_root; startContainer's after start", (t) => {
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
  const ops = plan(
    (spec) => {
      withUserNamespace(spec, [
        { containerID: 0, hostID: 100000, size: 1000 },
        { containerID: 1000, hostID: 5000, size: 1 },
      ]);
      spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'network');
    },
    { caller: { uid: 0, gid: 0 } },
  );
  const order = names(ops);
  t.true(order.indexOf('id_maps') < order.indexOf('clone'));
  t.true(order.lastIndexOf('rlimit') < order.indexOf('clone'));
  t.deepEqual(find(ops, 'id_maps'), ['id_maps', '0 100000 1000\n1000 5000 1', '0 100000 1000\n1000 5000 1', '', '', '']);
  t.is((find(ops, 'clone')![1] as number) & CLONE_NEW.user, CLONE_NEW.user);
  t.false(order.includes('mknod'));
  t.deepEqual(
    ops.filter((op) => op[0] === 'mount' && op[2] === '/dev/null'),
    [['mount', '/dev/null', '/dev/null', '', MS.BIND, '']],
  );
  t.deepEqual(
    ops.filter((op) => op[0] === 'mount' && op[2] === '/sys'),
    [['mount', '/sys', '/sys', '', MS.BIND | MS.REC, '']],
  );
  t.deepEqual(
    ops.find((op) => op[0] === 'remount' && op[1] === '/sys'),
    ['remount', '/sys', MS.BIND | MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY, ''],
  );
  // With its own ipc namespace, mqueue is mounted afresh.
  t.deepEqual(ops.filter((op) => op[0] === 'mount' && op[2] === '/dev/mqueue')[0]!.slice(1, 4), ['mqueue', '/dev/mqueue', 'mqueue']);
  // cgroup v1 hierarchies are bound, not mounted afresh, even with a cgroup namespace.
  const cgroups = plan(
    (spec) => {
      withUserNamespace(spec);
      spec.mounts!.push(cgroupMount);
    },
    { caller: { uid: 0, gid: 0 } },
  );
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
  const alice = withSubordinateIds({ uid: 1000, gid: 1000, name: 'alice' }, files);
  const spec = defaultSpec();
  withUserNamespace(spec, [{ containerID: 0, hostID: 1000, size: 1 }]);
  t.deepEqual(userNamespacePlan(spec, alice), { op: ['id_maps', '0 1000 1', '0 1000 1', 'deny', '', ''], setgroupsDenied: true });
  const ops = plan((s) => withUserNamespace(s, [{ containerID: 0, hostID: 1000, size: 1 }]), { caller: alice });
  t.is(find(ops, 'credentials')![3], '-');
  t.throws(
    () =>
      plan(
        (s) => {
          withUserNamespace(s, [{ containerID: 0, hostID: 1000, size: 1 }]);
          s.process!.user.additionalGids = [0];
        },
        { caller: alice },
      ),
    { message: /additionalGids need setgroups/ },
  );

  withUserNamespace(spec, [
    { containerID: 0, hostID: 1000, size: 1 },
    { containerID: 1, hostID: 200000, size: 65536 },
  ]);
  const mapped = userNamespacePlan(spec, alice)!;
  t.false(mapped.setgroupsDenied);
  t.deepEqual(mapped.op.slice(1, 4), ['0 1000 1\n1 200000 65536', '0 1000 1\n1 200000 65536', '']);
  t.regex(mapped.op[4] as string, /\/newuidmap$/);
  t.regex(mapped.op[5] as string, /\/newgidmap$/);

  withUserNamespace(spec, [
    { containerID: 0, hostID: 1000, size: 1 },
    { containerID: 1, hostID: 300000, size: 11 },
  ]);
  t.throws(() => userNamespacePlan(spec, alice), {
    message: /linux\.uidMappings: host uids 300000-300010 are neither yours \(1000\) nor subordinate uids of alice in .*subuid/,
  });
  // Root writes any map itself.
  t.deepEqual(userNamespacePlan(spec, { uid: 0, gid: 0 })!.op.slice(3), ['', '', '']);
});

test('namespaces given by path are joined before clone and not created', (t) => {
  const ops = plan((spec) => {
    spec.linux!.namespaces = [{ type: 'mount' }, { type: 'network', path: '/proc/42/ns/net' }, { type: 'user', path: '/proc/42/ns/user' }];
  });
  const before = ops.slice(
    0,
    ops.findIndex((op) => op[0] === 'clone'),
  );
  t.deepEqual(
    before.filter((op) => op[0] === 'setns'),
    [
      ['setns', '/proc/42/ns/user', CLONE_NEW.user],
      ['setns', '/proc/42/ns/net', CLONE_NEW.network],
    ],
  );
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
  t.deepEqual(
    plan()
      .filter((op) => op[0] === 'mknod')
      .map((op) => op[1]),
    ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'],
  );
});

test("sysctls only in the container's own namespaces; rootfsPropagation after pivot_root", (t) => {
  const ops = plan((spec) => {
    spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '100', 'net/ipv4/conf/eth0.1/forwarding': '1' };
    spec.linux!.rootfsPropagation = 'rshared';
  });
  t.deepEqual(
    ops.filter((op) => op[0] === 'sysctl'),
    [
      ['sysctl', 'net/ipv4/ip_forward', '1'],
      ['sysctl', 'kernel/shmmax', '100'],
      ['sysctl', 'net/ipv4/conf/eth0.1/forwarding', '1'],
    ],
  );
  t.throws(() => plan((spec) => (spec.linux!.sysctl = { 'vm.swappiness': '1' })), { message: /not in a separate kernel namespace/ });
  t.throws(() => plan((spec) => (spec.linux!.sysctl = { 'net/../../x': '1' })), { message: /invalid key/ });
  const propagations = ops.filter((op) => op[0] === 'propagate');
  t.deepEqual(propagations.at(0), ['propagate', '/', MS.SLAVE | MS.REC]);
  t.deepEqual(propagations.at(-1), ['propagate', '/', MS.SHARED | MS.REC]);
  t.true(ops.indexOf(propagations.at(-1)!) > names(ops).indexOf('pivot_root'));
});
