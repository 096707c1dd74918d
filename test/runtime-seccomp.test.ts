/**
 * linux.seccomp, seen from inside busybox containers: what a profile blocks fails with the errno
 * it names, argument conditions (AND across arguments, OR on one), podman's stock profile, the
 * filter loaded with or without no_new_privs, unknown syscall names, bad profiles, and
 * SCMP_ACT_NOTIFY answered by a seccomp agent listening on listenerPath.
 */

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Seccomp, Spec } from '@oci/specs';
import test from 'ava';
import { busyboxBundle, type TestBundle, uniqueId } from './harness/bundle.js';
import { podmanProfile } from './harness/podman-seccomp.js';
import { eventually, type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

const ARCHES = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];

/** A writable /tmp (the default rootfs is read-only) and the profile. */
function withSeccomp(seccomp: Seccomp, more?: (spec: Spec) => void) {
  return (spec: Spec) => {
    spec.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
    spec.linux!.seccomp = seccomp;
    more?.(spec);
  };
}

async function run(t: { teardown(fn: () => void): void }, script: string, adjust: (spec: TestBundle['spec']) => void) {
  const bundle = await busyboxBundle(['sh', '-c', script], adjust);
  t.teardown(bundle.remove);
  const id = uniqueId('seccomp');
  return { ...state.oci(['run', '--bundle', bundle.dir, id]), id, bundle };
}

test('a blocked syscall fails with EPERM; others run', async (t) => {
  const profile: Seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ARCHES, syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
  const { status, stdout, stderr } = await run(
    t,
    'mkdir /tmp/d 2>&1; echo "mkdir=$?"; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status',
    withSeccomp(profile),
  );
  t.is(status, 0, stderr);
  t.regex(stdout, /can't create directory '\/tmp\/d': Operation not permitted/);
  t.regex(stdout, /^mkdir=1$/m);
  t.regex(stdout, /^Seccomp:\s+2$/m);
  t.regex(stdout, /^NoNewPrivs:\s+1$/m);
});

test('errnoRet and defaultErrnoRet set the errno the program sees', async (t) => {
  const own: Seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 30 }, // EROFS
      { names: ['rmdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 16 }, // EBUSY
    ],
  };
  const { status, stdout, stderr } = await run(t, 'mkdir /tmp/d 2>&1; rmdir /tmp 2>&1; true', withSeccomp(own));
  t.is(status, 0, stderr);
  t.regex(stdout, /can't create directory '\/tmp\/d': Read-only file system/);
  t.regex(stdout, /rmdir: '\/tmp': (Device or )?[Rr]esource busy/);
});

test("podman's default profile loads and runs busybox; what it leaves out gets its defaultErrnoRet", async (t) => {
  let profile: Seccomp | undefined;
  const { status, stdout, stderr } = await run(
    t,
    'echo hello; ls / >/dev/null && echo listed; mkdir /tmp/d 2>&1; echo "mkdir=$?"',
    withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' }, (spec) => {
      profile = podmanProfile(spec.process!.capabilities!.bounding!);
      // Without mkdir in its allow list, mkdir meets the default: ERRNO with podman's defaultErrnoRet (ENOSYS).
      for (const entry of profile.syscalls!) entry.names = entry.names.filter((n) => n !== 'mkdir' && n !== 'mkdirat');
      spec.linux!.seccomp = profile;
    }),
  );
  t.is(status, 0, stderr);
  t.is(profile!.defaultAction, 'SCMP_ACT_ERRNO');
  t.is(profile!.defaultErrnoRet, 38);
  t.regex(stdout, /^hello\nlisted\n/);
  t.regex(stdout, /can't create directory '\/tmp\/d': Function not implemented/);
  t.regex(stdout, /^mkdir=1$/m);
});

test('argument conditions: AND across arguments, OR on the same argument, masked comparisons', async (t) => {
  const SIGUSR1 = 10;
  const SIGUSR2 = 12;
  const O_CREAT = 0o100;
  const profile: Seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      // Two conditions on argument 1: either signal is refused.
      {
        names: ['kill'],
        action: 'SCMP_ACT_ERRNO',
        args: [
          { index: 1, value: SIGUSR1, op: 'SCMP_CMP_EQ' },
          { index: 1, value: SIGUSR2, op: 'SCMP_CMP_EQ' },
        ],
      },
      // Opening with O_CREAT is refused, opening to read is not.
      { names: ['open', 'openat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 2, value: O_CREAT, valueTwo: O_CREAT, op: 'SCMP_CMP_MASKED_EQ' }] },
    ],
  };
  const script = 'trap "" USR1 USR2 HUP; kill -USR1 $$ 2>&1; kill -USR2 $$ 2>&1; kill -HUP $$ && echo hup-sent; touch /tmp/f 2>&1; cat /etc/hostname';
  const { status, stdout, stderr } = await run(t, script, withSeccomp(profile));
  t.is(status, 0, stderr);
  t.is((stdout.match(/can't kill pid \d+: Operation not permitted/g) ?? []).length, 2, stdout);
  t.regex(stdout, /^hup-sent$/m);
  t.regex(stdout, /touch: \/tmp\/f: Permission denied/);
  t.regex(stdout, /^busybox$/m);
});

test('without no_new_privs the filter is loaded while privileged, and still applies to a non-root program', async (t) => {
  const profile: Seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
  const { status, stdout, stderr } = await run(
    t,
    'mkdir /tmp/d 2>&1; id -u; grep -E "^(Seccomp|NoNewPrivs|CapEff):" /proc/self/status',
    withSeccomp(profile, (spec) => {
      spec.process!.noNewPrivileges = false;
      spec.process!.user = { uid: 1000, gid: 1000 };
    }),
  );
  t.is(status, 0, stderr);
  t.regex(stdout, /Operation not permitted/);
  t.regex(stdout, /^1000$/m);
  t.regex(stdout, /^NoNewPrivs:\s+0$/m);
  t.regex(stdout, /^Seccomp:\s+2$/m);
  t.regex(stdout, /^CapEff:\s+0+$/m);
});

test('filter flags are passed to the kernel; an unknown flag is refused', async (t) => {
  const flags = ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'];
  const ok = await run(
    t,
    'mkdir /tmp/d 2>&1; true',
    withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', flags, syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }),
  );
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stdout, /Operation not permitted/);

  const bad = await run(t, 'true', withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_BOGUS'] }));
  t.is(bad.status, 1);
  t.regex(bad.stderr, /linux\.seccomp\.flags: unknown flag 'SECCOMP_FILTER_FLAG_BOGUS'/);
  t.false(state.exists(bad.id));
});

test('a syscall name libseccomp does not know is skipped when the default stops it anyway, refused when skipping would let it run', async (t) => {
  const unknown = 'no_such_syscall_in_any_kernel';
  // podman's situation: an allow list naming syscalls newer than this libseccomp.
  const skipped = await run(
    t,
    'echo ran',
    withSeccomp(podmanProfile([]), (spec) => {
      spec.linux!.seccomp!.syscalls!.push({ names: [unknown], action: 'SCMP_ACT_ALLOW' });
    }),
  );
  t.is(skipped.status, 0, skipped.stderr);
  t.is(skipped.stdout, 'ran\n');

  // A deny list under an allowing default: without the rule, the syscall would run.
  const refused = await run(
    t,
    'echo ran',
    withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', unknown], action: 'SCMP_ACT_ERRNO' }] }),
  );
  t.is(refused.status, 1);
  t.is(refused.stdout, '');
  t.regex(
    refused.stderr,
    new RegExp(`syscall '${unknown}' is unknown to libseccomp [\\d.]+: without its rule the default action \\(SCMP_ACT_ALLOW\\) would let it run`),
  );
  t.false(state.exists(refused.id));
});

test('a malformed profile is refused with a line naming what is wrong, before anything runs', async (t) => {
  const cases: [Seccomp, RegExp][] = [
    [{ defaultAction: 'SCMP_ACT_SOMETIMES' }, /linux\.seccomp\.defaultAction: unknown action 'SCMP_ACT_SOMETIMES'/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }, /unknown architecture 'SCMP_ARCH_Z80'/],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_KILL', errnoRet: 1 }] },
      /syscalls\[0\]: errnoRet is only for SCMP_ACT_ERRNO and SCMP_ACT_TRACE/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] },
      /args\[0\]: index must be 0 to 5/,
    ],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0, op: 'SCMP_CMP_ABOUT' }] }] },
      /unknown operator 'SCMP_CMP_ABOUT'/,
    ],
    [{ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/nonexistent' }, /defaultAction cannot be SCMP_ACT_NOTIFY/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /SCMP_ACT_NOTIFY needs a listenerPath/],
    [
      { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/nonexistent/agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] },
      /seccomp agent at \/nonexistent\/agent\.sock: ENOENT/,
    ],
  ];
  for (const [profile, message] of cases) {
    const { status, stderr, id } = await run(t, 'true', withSeccomp(profile));
    t.is(status, 1, JSON.stringify(profile));
    t.regex(stderr, message);
    t.false(state.exists(id));
  }
});

/**
 * A seccomp agent (Python, the standard library only): receives the container process state and
 * the listener fd over listenerPath, records them, then answers the first notification with
 * EROFS (SECCOMP_IOCTL_NOTIF_RECV / _SEND) and exits.
 */
const AGENT = `
import fcntl, json, os, socket, struct, sys
path, out = sys.argv[1], sys.argv[2]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
print('listening', flush=True)
conn, _ = server.accept()
message, fds, _, _ = socket.recv_fds(conn, 65536, 4)
rest = conn.recv(1)
conn.close()
listener = fds[0]
with open(out, 'w') as f:
    json.dump({'state': json.loads(message), 'fds': len(fds), 'kind': os.readlink('/proc/self/fd/%d' % listener), 'closed': rest == b''}, f)
notif = bytearray(80)
fcntl.ioctl(listener, 0xc0502100, notif)
request_id, pid, flags, nr = struct.unpack_from('=QIIi', notif)
fcntl.ioctl(listener, 0xc0182101, bytearray(struct.pack('=QqiI', request_id, 0, -30, 0)))
`;

test('SCMP_ACT_NOTIFY: the agent at listenerPath gets the container process state and the listener, and answers for the kernel', async (t) => {
  const dir = tempDir('agent');
  t.teardown(dir.remove);
  const socketPath = path.join(dir.dir, 'agent.sock');
  const record = path.join(dir.dir, 'record.json');
  const agent = spawn('python3', ['-c', AGENT, socketPath, record], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => agent.kill());
  const agentExit = new Promise<number | null>((resolve) => agent.once('exit', resolve));
  await new Promise<void>((resolve) => agent.stdout!.once('data', () => resolve()));

  const profile: Seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath: socketPath,
    listenerMetadata: 'agent-metadata',
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
  };
  const bundle = await busyboxBundle(
    ['sh', '-c', 'mkdir /tmp/d 2>/out/.log; echo "mkdir=$?" >>/out/.log; mv /out/.log /out/log'],
    withSeccomp(profile, (spec) => {
      spec.annotations = { 'org.example': 'yes' };
      spec.mounts!.push({ destination: '/out', type: 'bind', source: dir.dir, options: ['rbind', 'rw'] });
    }),
  );
  t.teardown(bundle.remove);
  const id = uniqueId('notify');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  const created = state.ociDetached(['create', '--bundle', bundle.dir, id]);
  t.is(created.status, 0, created.stderr);
  const pid = (JSON.parse(state.oci(['state', id]).stdout) as { pid: number }).pid;
  const started = state.oci(['start', id]);
  t.is(started.status, 0, started.stderr);
  t.is(await agentExit, 0);

  const seen = JSON.parse(readFileSync(record, 'utf8')) as { state: Record<string, unknown>; fds: number; kind: string; closed: boolean };
  t.is(seen.fds, 1);
  t.is(seen.kind, 'anon_inode:seccomp notify');
  t.true(seen.closed, 'one state per connection, then the connection is closed');
  t.like(seen.state, { fds: ['seccompFd'], pid, metadata: 'agent-metadata' });
  t.regex(seen.state.ociVersion as string, /^1\.\d+\.\d+/);
  t.like(seen.state.state as object, { id, pid, bundle: bundle.dir, annotations: { 'org.example': 'yes' } });
  // The agent answered mkdir with EROFS.
  await eventually(() => existsSync(path.join(dir.dir, 'log')));
  t.regex(readFileSync(path.join(dir.dir, 'log'), 'utf8'), /can't create directory '\/tmp\/d': Read-only file system\nmkdir=1\n/);
});

/** A static program that makes the raw syscalls its arguments number and prints each errno name. */
const RAW_SYSCALLS = String.raw`
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    long r = syscall(atol(argv[i]), 0, 0, 0, 0, 0, 0);
    printf("%s %s\n", argv[i], r < 0 ? strerrorname_np(errno) : "ok");
  }
  return 0;
}
`;

test('a syscall newer than every one the profile names gets ENOSYS, not the default EPERM (libc falls back on ENOSYS)', async (t) => {
  let profile: Seccomp | undefined;
  const bundle = await busyboxBundle(['/raw-syscalls', '39', '500'], (spec) => {
    profile = podmanProfile(spec.process!.capabilities!.bounding!);
    delete profile.defaultErrnoRet; // refuse with EPERM, as older profiles do
    for (const entry of profile.syscalls!) entry.names = entry.names.filter((n) => n !== 'getpid');
    spec.linux!.seccomp = profile;
  });
  t.teardown(bundle.remove);
  const source = path.join(bundle.dir, 'raw-syscalls.c');
  writeFileSync(source, RAW_SYSCALLS);
  const built = spawnSync('cc', ['-static', '-O2', '-o', path.join(bundle.rootfs, 'raw-syscalls'), source], { encoding: 'utf8' });
  t.is(built.status, 0, built.stderr);
  const { status, stdout, stderr } = state.oci(['run', '--bundle', bundle.dir, uniqueId('enosys')]);
  t.is(status, 0, stderr);
  // getpid (39), older than what the profile names but left out of it: the default, EPERM.
  // 500, newer than any syscall the profile names (or the kernel has): ENOSYS.
  t.is(stdout, '39 EPERM\n500 ENOSYS\n');
});
