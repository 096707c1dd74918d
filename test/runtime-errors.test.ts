/**
 * Bad input to the runtime commands: one clear line with the words engines match on ("does
 * not exist", "container not running"), a non-zero exit, and nothing left behind.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { type TestBundle, testBundle, uniqueId } from './harness/bundle.js';
import { ociBin } from './harness/cli.js';
import { runcRun } from './harness/runc.js';
import { eventually, type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

/** Asserts one line on stderr matching `pattern`, exit status 1, and no trace of the container. */
function refused(t: import('ava').ExecutionContext, result: { status: number | null; stderr: string }, pattern: RegExp, id?: string) {
  t.is(result.status, 1, result.stderr);
  t.is(result.stderr.split('\n').length, 2, result.stderr);
  t.regex(result.stderr, pattern);
  t.notRegex(result.stderr, /\n\s+at /);
  if (id) t.false(state.exists(id), `${id} left a state directory`);
}

test('a config.json that is not JSON, or of an unknown version, is refused', async (t) => {
  const b = await testBundle(t, ['true']);
  writeFileSync(path.join(b.dir, 'config.json'), '{"ociVersion": ');
  const id = uniqueId('bad');
  refused(t, state.ociDetached(['create', '--bundle', b.dir, id]), /^oci: create \S+: .*config\.json: not valid JSON/, id);
  b.spec.ociVersion = '2.0.0';
  b.save();
  refused(t, state.ociDetached(['create', '--bundle', b.dir, id]), /ociVersion '2\.0\.0' is not supported/, id);
});

test('a missing rootfs or bundle is refused', async (t) => {
  const b = await testBundle(t, ['true']);
  rmSync(b.rootfs, { recursive: true });
  const id = uniqueId('bad');
  refused(t, state.ociDetached(['create', '--bundle', b.dir, id]), new RegExp(`rootfs ${b.rootfs} does not exist`), id);
  refused(t, state.ociDetached(['create', '--bundle', path.join(b.dir, 'nope'), id]), /config\.json does not exist/, id);
});

test('relative paths where the spec wants absolute ones are refused', async (t) => {
  const id = uniqueId('bad');
  const cases: [(spec: TestBundle['spec']) => void, RegExp][] = [
    [(spec) => spec.mounts!.push({ destination: 'tmp', type: 'tmpfs', source: 'tmpfs' }), /mounts\[7\]\.destination: 'tmp' is not an absolute path/],
    [(spec) => (spec.process!.cwd = 'home'), /process\.cwd: 'home' is not an absolute path/],
    [(spec) => spec.linux!.maskedPaths!.push('proc/kcore'), /linux\.maskedPaths: 'proc\/kcore' is not an absolute path/],
    [(spec) => spec.linux!.namespaces!.push({ type: 'time', path: 'ns/time' }), /linux\.namespaces\[6\]\.path: 'ns\/time' is not an absolute path/],
  ];
  for (const [adjust, pattern] of cases) {
    const b = await testBundle(t, ['true'], adjust);
    refused(t, state.ociDetached(['create', '--bundle', b.dir, id]), pattern, id);
  }
});

test('an invalid container id and a duplicate id are refused', async (t) => {
  const b = await testBundle(t, ['sleep', '30']);
  refused(t, state.ociDetached(['create', '--bundle', b.dir, '../escape']), /invalid container id/);
  const id = uniqueId('dup');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  t.is(state.ociDetached(['create', '--bundle', b.dir, id]).status, 0);
  const pid = JSON.parse(state.oci(['state', id]).stdout).pid as number;
  refused(t, state.ociDetached(['create', '--bundle', b.dir, id]), new RegExp(`container ${id} already exists`));
  // The first one is untouched.
  t.like(JSON.parse(state.oci(['state', id]).stdout), { status: 'created', pid });
});

test("ids runc accepts work, '...' and '.x' included; one with a newline is refused in one line, as runc refuses it", async (t) => {
  const b = await testBundle(t, ['true']);
  for (const id of ['...', `.${uniqueId('dot')}`]) {
    const ours = state.oci(['run', '--bundle', b.dir, id]);
    t.is(ours.status, 0, ours.stderr);
    t.false(state.exists(id));
  }
  t.is(runcRun(b.dir, '...').status, 0, "runc's rule: '...' is a valid id");

  const id = `nl-${process.pid}\nwith: another line`;
  const refusal = state.ociDetached(['create', '--bundle', b.dir, id]);
  refused(t, refusal, /^oci: create nl-\d+\\nwith: another line: invalid container id "nl-\d+\\nwith: another line": use letters/);
  t.not(runcRun(b.dir, id).status, 0);
  // Whatever the error echoes, it stays one line: a bundle path with a newline and an escape.
  refused(
    t,
    state.ociDetached(['create', '--bundle', `${b.dir}/no\nsuch\x1b[2J`, uniqueId('nl')]),
    /bundle \S+\/no\\nsuch\\x1b\[2J: config\.json does not exist$/m,
  );
});

test('start of a container that is not created, and commands on one that does not exist', async (t) => {
  const b = await testBundle(t, ['true']);
  const id = uniqueId('start');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  t.is(state.ociDetached(['create', '--bundle', b.dir, id]).status, 0);
  t.is(state.oci(['start', id]).status, 0);
  await eventually(() => state.oci(['state', id]).stdout.includes('"stopped"'));
  refused(t, state.oci(['start', id]), /cannot start a container that has stopped/);
  refused(t, state.oci(['kill', id, 'KILL']), /^oci: kill \S+: container not running$/m);

  const ghost = uniqueId('ghost');
  for (const args of [
    ['start', ghost],
    ['state', ghost],
    ['kill', ghost],
    ['delete', ghost],
  ]) {
    refused(t, state.oci(args), new RegExp(`^oci: ${args[0]} ${ghost}: container ${ghost} does not exist$`, 'm'));
  }
  t.is(state.oci(['delete', '--force', ghost]).status, 0, 'delete --force of nothing succeeds, as runc');
});

test('an unknown signal is refused and the container keeps running', async (t) => {
  const b = await testBundle(t, ['sleep', '30']);
  const id = uniqueId('sig');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  t.is(state.ociDetached(['create', '--bundle', b.dir, id]).status, 0);
  refused(t, state.oci(['kill', id, 'SIGNOPE']), /unknown signal 'SIGNOPE'/);
  refused(t, state.oci(['kill', id, '99']), /unknown signal '99'/);
  t.regex(state.oci(['state', id]).stdout, /"created"/);
});

/** The host mounts the cgroup v1 `controller` somewhere. */
const hasController = (controller: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => / - cgroup /.test(line) && line.split(' ').at(-1)!.split(',').includes(controller));

test('what cannot be honoured is refused in one line naming the field, as runc refuses it: network limits without their controllers, AppArmor, SELinux', async (t) => {
  const cases: [string, (spec: TestBundle['spec']) => void, RegExp][] = [
    [
      'net_cls',
      (spec) => (spec.linux!.resources!.network = { classID: 0x100001 }),
      /linux\.resources\.network\.classID: net_cls\.classid needs the net_cls cgroup controller, which this host does not have$/m,
    ],
    [
      'net_prio',
      (spec) => (spec.linux!.resources!.network = { priorities: [{ name: 'lo', priority: 2 }] }),
      /linux\.resources\.network\.priorities: net_prio\.ifpriomap needs the net_prio cgroup controller/,
    ],
    [
      'apparmor',
      (spec) => (spec.process!.apparmorProfile = 'oci-test'),
      /process\.apparmorProfile is set, but oci does not apply AppArmor profiles: the process would run unconfined$/m,
    ],
    [
      'selinux',
      (spec) => (spec.process!.selinuxLabel = 'system_u:system_r:container_t:s0'),
      /process\.selinuxLabel is set, but oci does not apply SELinux labels/,
    ],
    [
      'selinux',
      (spec) => (spec.linux!.mountLabel = 'system_u:object_r:container_file_t:s0'),
      /linux\.mountLabel is set, but oci does not apply SELinux labels/,
    ],
  ];
  for (const [need, adjust, pattern] of cases) {
    // A host that has what is asked for would honour it (runc would too): nothing to refuse.
    if (need.startsWith('net_') ? hasController(need) : existsSync(need === 'apparmor' ? '/sys/kernel/security/apparmor' : '/sys/fs/selinux/enforce')) {
      t.log(`this host has ${need}: not refused`);
      continue;
    }
    const b = await testBundle(t, ['true'], adjust);
    const id = uniqueId('refuse');
    refused(t, state.ociDetached(['create', '--bundle', b.dir, id]), pattern, id);
    t.not(runcRun(b.dir).status, 0, `runc refuses it too: ${pattern}`);
  }
});

test('process.terminal without a console socket or a terminal of ours is refused by run and exec -t, as runc refuses it', async (t) => {
  const b = await testBundle(t, ['true'], (spec) => {
    spec.process!.terminal = true;
  });
  // setsid: no controlling terminal (/dev/tty), and stdin, stdout and stderr are not terminals.
  const detached = (command: string, args: string[]) => {
    const result = spawnSync('setsid', ['--wait', command, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const pattern = /process\.terminal is true, but there is no terminal here to attach it to/;
  const id = uniqueId('tty');
  refused(t, detached(ociBin, ['--root', state.root, 'run', '--bundle', b.dir, id]), pattern, id);
  const runcRoot = tempDir('runc-tty');
  t.teardown(runcRoot.remove);
  t.not(detached('runc', ['--root', runcRoot.dir, 'run', '--bundle', b.dir, `oci-tty-${process.pid}`]).status, 0, 'runc refuses it too');

  const running = await testBundle(t, ['sleep', '30']);
  const container = uniqueId('tty');
  t.teardown(() => void state.oci(['delete', '--force', container]));
  t.is(state.ociDetached(['run', '--detach', '--bundle', running.dir, container]).status, 0);
  const exec = detached(ociBin, ['--root', state.root, 'exec', '--tty', container, 'true']);
  t.is(exec.status, 255, exec.stderr);
  t.regex(exec.stderr, /^oci: exec \S+: process\.terminal is true, but there is no terminal here to attach it to/);
});

test('nothing is left in the state root by failed creates', async (t) => {
  const b = await testBundle(t, ['true'], (spec) => {
    spec.linux!.sysctl = { 'kernel.panic': '1' };
  });
  refused(t, state.ociDetached(['create', '--bundle', b.dir, uniqueId('sysctl')]), /kernel\.panic is not in a separate kernel namespace/);
  const leftovers = readdirSync(state.root).filter((name) => name.startsWith('sysctl-') || name.startsWith('bad-'));
  t.deepEqual(leftovers, []);
});
