/**
 * What a container sees from inside, checked from inside (busybox, real namespaces, as root):
 * pid 1, its hostname, only lo, no host mounts, its rlimits, capabilities and ids, masked and
 * read-only paths, and the kernel enforcing its memory and pids limits.
 */

import { hostname } from 'node:os';
import test from 'ava';
import { busyboxBundle, type TestBundle, uniqueId } from './harness/bundle.js';
import { runcRun } from './harness/runc.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

async function run(t: { teardown(fn: () => void): void }, args: string[], adjust?: (spec: TestBundle['spec']) => void) {
  const bundle = await busyboxBundle(args, adjust);
  t.teardown(bundle.remove);
  const id = uniqueId('iso');
  const result = state.oci(['run', '--bundle', bundle.dir, id]);
  return { ...result, bundle, id };
}

const field = (text: string, name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(text)?.[1];

test('the container is pid 1 with its own hostname and only a loopback interface', async (t) => {
  const name = `box-${process.pid}`;
  const { status, stdout, stderr } = await run(t, ['sh', '-c', 'echo $$; hostname; ls /sys/class/net'], (spec) => {
    spec.hostname = name;
  });
  t.is(status, 0, stderr);
  t.deepEqual(stdout.trim().split('\n'), ['1', name, 'lo']);
  t.not(hostname(), name);
});

test('the container sees only the mounts its config asks for', async (t) => {
  const { status, stdout, stderr, bundle } = await run(t, ['cat', '/proc/self/mountinfo']);
  t.is(status, 0, stderr);
  const mountPoints = stdout
    .trim()
    .split('\n')
    .map((line) => line.split(' ')[4]!);
  const spec = bundle.spec;
  const asked = new Set(['/', ...spec.mounts!.map((m) => m.destination), ...spec.linux!.maskedPaths!, ...spec.linux!.readonlyPaths!]);
  const unexpected = mountPoints.filter((p) => !asked.has(p) && !p.startsWith('/sys/fs/cgroup/'));
  t.deepEqual(unexpected, []);
  t.true(mountPoints.includes('/proc') && mountPoints.includes('/dev/pts'));
  // The root is the bundle's rootfs, read-only as config.json says.
  const root = stdout.split('\n').find((line) => line.split(' ')[4] === '/')!;
  t.is(root.split(' ')[3], bundle.rootfs);
  t.regex(root.split(' ')[5]!, /^ro\b/);
});

test('rlimits, capabilities and ids are those of config.json', async (t) => {
  const { status, stdout, stderr } = await run(t, ['sh', '-c', 'cat /proc/self/status /proc/self/limits; id -u; id -g; id -G'], (spec) => {
    const p = spec.process!;
    p.user = { uid: 1000, gid: 1001, additionalGids: [20, 30] };
    p.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 512, hard: 700 },
      { type: 'RLIMIT_NPROC', soft: 300, hard: 400 },
    ];
    p.capabilities = {
      bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW'],
      effective: ['CAP_NET_RAW'],
      permitted: ['CAP_NET_RAW'],
      inheritable: ['CAP_NET_RAW'],
      ambient: ['CAP_NET_RAW'],
    };
  });
  t.is(status, 0, stderr);
  // CAP_CHOWN = 0, CAP_KILL = 5, CAP_NET_RAW = 13; a non-root program keeps what is ambient.
  t.is(BigInt(`0x${field(stdout, 'CapBnd')}`), (1n << 0n) | (1n << 5n) | (1n << 13n));
  for (const set of ['CapEff', 'CapPrm', 'CapInh', 'CapAmb']) t.is(BigInt(`0x${field(stdout, set)}`), 1n << 13n, set);
  t.is(field(stdout, 'NoNewPrivs'), '1');
  t.regex(stdout, /^Max open files\s+512\s+700\s+files/m);
  t.regex(stdout, /^Max processes\s+300\s+400\s+processes/m);
  t.deepEqual(stdout.trim().split('\n').slice(-3), ['1000', '1001', '1001 20 30']);
  t.regex(stdout, /^Groups:\s+20 30\s*$/m);
});

test('a root container gets the bounding set of config.json, as runc gives it', async (t) => {
  const { status, stdout, stderr } = await run(t, ['cat', '/proc/self/status']);
  t.is(status, 0, stderr);
  // The default spec: CAP_AUDIT_WRITE (29), CAP_KILL (5), CAP_NET_BIND_SERVICE (10).
  const expected = (1n << 29n) | (1n << 5n) | (1n << 10n);
  for (const set of ['CapBnd', 'CapEff', 'CapPrm']) t.is(BigInt(`0x${field(stdout, set)}`), expected, set);
  t.is(BigInt(`0x${field(stdout, 'CapAmb')}`), 0n);
  // Nothing ignored or blocked leaks in from the runtime (Node ignores SIGPIPE).
  t.is(field(stdout, 'SigIgn'), '0000000000000000');
  t.is(field(stdout, 'SigBlk'), '0000000000000000');
});

test('masked paths are empty and read-only paths cannot be written', async (t) => {
  const script = [
    'wc -c < /proc/keys',
    'ls -A /sys/firmware | wc -l',
    'wc -c < /etc/hostname',
    'touch /tmp/x 2>&1 || true',
    'touch /home/x && echo home-writable',
    'echo x 2>&1 > /proc/sys/kernel/domainname || true',
  ].join('; ');
  const { status, stdout, stderr } = await run(t, ['sh', '-c', script], (spec) => {
    spec.root!.readonly = false;
    spec.linux!.maskedPaths!.push('/etc/hostname');
    spec.linux!.readonlyPaths!.push('/tmp');
  });
  t.is(status, 0, stderr);
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => l.trim());
  t.deepEqual(lines.slice(0, 3), ['0', '0', '0']);
  t.regex(lines[3]!, /Read-only file system/);
  t.is(lines[4], 'home-writable');
  t.regex(lines[5]!, /Read-only file system/);
});

test('the kernel enforces the memory limit: past it the program is OOM-killed', async (t) => {
  const limit = (spec: TestBundle['spec']) => {
    spec.linux!.resources!.memory = { limit: 32 << 20, swap: 32 << 20 };
  };
  const over = await run(t, ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], limit);
  t.is(over.status, 128 + 9, over.stderr);
  const under = await run(t, ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=8M', 'count=1'], limit);
  t.is(under.status, 0, under.stderr);
});

test('the kernel enforces the pids limit: forking past it fails', async (t) => {
  const script = 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait';
  const limited = await run(t, ['sh', '-c', script], (spec) => {
    spec.linux!.resources!.pids = { limit: 5 };
  });
  t.not(limited.status, 0);
  t.regex(limited.stderr, /can't fork: Resource temporarily unavailable/);
  const roomy = await run(t, ['sh', '-c', script], (spec) => {
    spec.linux!.resources!.pids = { limit: 20 };
  });
  t.is(roomy.status, 0, roomy.stderr);
});

test('the container has its own session keyring, named after it as runc names it, unless --no-new-keyring', async (t) => {
  const unmaskKeys = (spec: TestBundle['spec']) => {
    spec.linux!.maskedPaths = spec.linux!.maskedPaths!.filter((p) => p !== '/proc/keys');
  };
  const own = await run(t, ['cat', '/proc/keys'], unmaskKeys);
  t.is(own.status, 0, own.stderr);
  t.regex(own.stdout, new RegExp(`keyring\\s+_ses\\.${own.id}: empty`));
  // runc's name for it, "_ses.ID" (its id here is runcRun's own).
  const runc = runcRun(own.bundle.dir);
  t.is(runc.status, 0, runc.stderr);
  t.regex(runc.stdout, /keyring\s+_ses\.oci-test-[0-9a-f]+: empty/);

  // A name that starts with a dot is the kernel's: an id that does (runc allows it) still works.
  const dotted = `.${own.id}`;
  const result = state.oci(['run', '--bundle', own.bundle.dir, dotted]);
  t.is(result.status, 0, result.stderr);
  t.regex(result.stdout, new RegExp(`keyring\\s+_ses\\.\\.${own.id}: empty`));

  const bundle = await busyboxBundle(['cat', '/proc/keys'], unmaskKeys);
  t.teardown(bundle.remove);
  const id = uniqueId('iso');
  const shared = state.oci(['run', '--no-new-keyring', '--bundle', bundle.dir, id]);
  t.is(shared.status, 0, shared.stderr);
  t.notRegex(shared.stdout, new RegExp(id));
});
