/**
 * `oci exec`: another process in a running container, in its namespaces and cgroups, with its
 * own identity; stdio, exit status and signals as for `run`; --detach with a pid file as engines
 * use it; `ps`; and the refusals (a stopped container, a missing one, a missing program).
 */

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { busyboxBundle, type TestBundle, uniqueId } from './harness/bundle.js';
import { ociBin } from './harness/cli.js';
import { eventually, type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

type Teardown = { teardown(fn: () => void): void };

/** A running container (`run -d`) of `args`; deleted when the test ends, whatever happened. */
async function running(t: Teardown, args: string[] = ['sleep', '1000'], adjust?: (spec: TestBundle['spec']) => void) {
  const b = await busyboxBundle(args, adjust);
  t.teardown(b.remove);
  const id = uniqueId('exec');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  const started = state.ociDetached(['run', '-d', '--bundle', b.dir, id]);
  if (started.status !== 0) throw new Error(`run -d: ${started.stderr}`);
  const pid = (JSON.parse(state.oci(['state', id]).stdout) as { pid: number }).pid;
  return { id, pid, bundle: b };
}

const namespaces = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'];
const nsOf = (pid: number) => namespaces.map((name) => readlinkSync(`/proc/${pid}/ns/${name}`));
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
  } catch {
    return false;
  }
};

test('exec runs a second process inside the container: its namespaces, cgroups, root and hostname', async (t) => {
  const { id } = await running(t, ['sh', '-c', 'echo from-init > /tmp/marker; exec sleep 1000'], (spec) => {
    spec.hostname = 'exec-box';
    spec.root!.readonly = false;
  });
  const script = [
    `for n in ${namespaces.join(' ')}; do [ "$(readlink /proc/self/ns/$n)" = "$(readlink /proc/1/ns/$n)" ] && echo same-$n; done`,
    'echo pid $$',
    'tr "\\0" " " < /proc/1/cmdline; echo',
    'hostname',
    'cat /tmp/marker',
    'cmp -s /proc/self/cgroup /proc/1/cgroup && echo same-cgroups',
    'ls /sys/class/net',
  ].join('; ');
  await eventually(() => state.oci(['exec', id, 'test', '-f', '/tmp/marker']).status === 0);
  const result = state.oci(['exec', id, 'sh', '-c', script]);
  t.is(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  t.deepEqual(
    lines.slice(0, namespaces.length),
    namespaces.map((n) => `same-${n}`),
  );
  t.regex(lines[namespaces.length]!, /^pid (\d+)$/);
  t.not(lines[namespaces.length], 'pid 1', 'pid 1 is the container init; the exec gets another pid of its namespace');
  t.deepEqual(lines.slice(namespaces.length + 1), ['sleep 1000 ', 'exec-box', 'from-init', 'same-cgroups', 'lo']);
});

test('exec passes stdio through and exits with the program status; 128+N when signal N killed it', async (t) => {
  const { id } = await running(t);
  const result = state.oci(['exec', id, 'sh', '-c', 'read line; echo "out $line"; echo err >&2; exit 7'], { input: 'hello\n' });
  t.is(result.status, 7);
  t.is(result.stdout, 'out hello\n');
  t.is(result.stderr, 'err\n');
  t.is(state.oci(['exec', id, 'sh', '-c', 'kill -9 $$']).status, 128 + 9);
});

test('exec --detach returns while the program runs, its pid (digits only) in the pid file; ps lists it', async (t) => {
  const { id, pid: init } = await running(t);
  const dir = tempDir('exec-pid');
  t.teardown(dir.remove);
  const pidFile = path.join(dir.dir, 'exec.pid');
  const exec = state.ociDetached(['exec', '--detach', '--pid-file', pidFile, id, 'sleep', '900']);
  t.is(exec.status, 0, exec.stderr);
  const text = readFileSync(pidFile, 'utf8');
  t.regex(text, /^\d+$/, 'containerd parses the whole file as a number');
  const pid = Number(text);
  t.true(alive(pid));
  t.is(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\u0000900\u0000');
  t.deepEqual(nsOf(pid), nsOf(init));
  t.is(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync(`/proc/${init}/cgroup`, 'utf8'));

  const json = state.oci(['ps', '--format', 'json', id]);
  t.is(json.status, 0, json.stderr);
  t.deepEqual(
    JSON.parse(json.stdout),
    [init, pid].sort((a, b) => a - b),
  );
  const table = state.oci(['ps', id]).stdout.trim().split('\n');
  t.regex(table[0]!, /^UID\s+PID\s+PPID\s+STAT\s+TIME\s+CMD$/);
  t.true(
    table.some((line) => new RegExp(`^0\\s+${pid}\\s+\\d+\\s+S\\s+00:00:\\d\\d\\s+sleep 900$`).test(line)),
    table.join('\n'),
  );

  t.is(state.oci(['kill', '--all', id, 'KILL']).status, 0);
  await eventually(() => !alive(pid));
});

test("exec takes its process's identity: config.json's by default, changed by flags, or whole from --process", async (t) => {
  const { id } = await running(t, ['sleep', '1000'], (spec) => {
    spec.process!.noNewPrivileges = true;
    spec.process!.env = [...spec.process!.env!, 'FROM_CONFIG=yes'];
  });
  const show = 'id -u; id -g; id -G; pwd; echo "$FROM_CONFIG $FOO"; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status | tr -s "\\t" " "';
  const defaults = state.oci(['exec', id, 'sh', '-c', show]);
  t.is(defaults.status, 0, defaults.stderr);
  // runc spec's capabilities: AUDIT_WRITE, KILL, NET_BIND_SERVICE.
  t.is(defaults.stdout, '0\n0\n0\n/\nyes \nCapEff: 0000000020000420\nCapBnd: 0000000020000420\nNoNewPrivs: 1\n');

  const changed = state.oci(['exec', '-g', '5', '--cwd', '/tmp', '--env', 'FOO=bar', '--cap', 'CAP_NET_ADMIN', id, 'sh', '-c', show]);
  t.is(changed.status, 0, changed.stderr);
  t.is(changed.stdout, '0\n0\n0 5\n/tmp\nyes bar\nCapEff: 0000000020001420\nCapBnd: 0000000020001420\nNoNewPrivs: 1\n');
  // Not root: the capabilities go at exec, as under runc (none are ambient).
  const user = state.oci(['exec', '--user', '1000:100', id, 'sh', '-c', show]);
  t.is(user.stdout, '1000\n100\n100\n/\nyes \nCapEff: 0000000000000000\nCapBnd: 0000000020000420\nNoNewPrivs: 1\n');

  const dir = tempDir('exec-process');
  t.teardown(dir.remove);
  const file = path.join(dir.dir, 'process.json');
  writeFileSync(
    file,
    JSON.stringify({
      args: ['sh', '-c', show],
      cwd: '/etc',
      env: ['PATH=/bin', 'FOO=whole'],
      user: { uid: 2, gid: 3 },
      // Ambient: what a process that is not root keeps through exec.
      capabilities: Object.fromEntries(['bounding', 'effective', 'permitted', 'inheritable', 'ambient'].map((set) => [set, ['CAP_CHOWN']])),
    }),
  );
  const whole = state.oci(['exec', '--process', file, '--env', 'IGNORED=1', id]);
  t.is(whole.status, 0, whole.stderr);
  t.is(whole.stdout, '2\n3\n3\n/etc\n whole\nCapEff: 0000000000000001\nCapBnd: 0000000000000001\nNoNewPrivs: 0\n');
});

test("an exec'd process is under the container's seccomp filter, loaded with or without no_new_privs", async (t) => {
  for (const noNewPrivileges of [true, false]) {
    const { id } = await running(t, ['sleep', '1000'], (spec) => {
      spec.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
      spec.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
      spec.process!.noNewPrivileges = noNewPrivileges;
    });
    const result = state.oci(['exec', id, 'sh', '-c', 'mkdir /tmp/d 2>&1; echo "mkdir=$?"; grep -E "^Seccomp:" /proc/self/status']);
    t.is(result.status, 0, result.stderr);
    t.regex(result.stdout, /can't create directory '\/tmp\/d': Operation not permitted\nmkdir=1\nSeccomp:\s+2\n$/);
  }
});

/**
 * A seccomp agent (Python): takes the first process's listener, then the exec'd one's, records
 * the two states, answers the exec's first notification with EROFS and exits.
 */
const AGENT = `
import fcntl, json, socket, struct, sys
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen(2)
print('listening', flush=True)
states = []
for _ in range(2):
    conn, _ = server.accept()
    message, fds, _, _ = socket.recv_fds(conn, 65536, 4)
    states.append(json.loads(message))
    conn.close()
with open(sys.argv[2], 'w') as f:
    json.dump(states, f)
notif = bytearray(80)
fcntl.ioctl(fds[0], 0xc0502100, notif)
request_id = struct.unpack_from('=Q', notif)[0]
fcntl.ioctl(fds[0], 0xc0182101, bytearray(struct.pack('=QqiI', request_id, 0, -30, 0)))
`;

test("SCMP_ACT_NOTIFY: an exec'd process's listener goes to the seccomp agent with its pid and the container's state", async (t) => {
  const dir = tempDir('exec-agent');
  t.teardown(dir.remove);
  const socketPath = path.join(dir.dir, 'agent.sock');
  const record = path.join(dir.dir, 'states.json');
  const agent = spawn('python3', ['-c', AGENT, socketPath, record], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => agent.kill());
  const agentExit = new Promise<number | null>((resolve) => agent.once('exit', resolve));
  await new Promise<void>((resolve) => agent.stdout.once('data', () => resolve()));
  const {
    id,
    pid: init,
    bundle,
  } = await running(t, ['sleep', '1000'], (spec) => {
    spec.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] });
    spec.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: socketPath, syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }] };
  });
  const exec = state.oci(['exec', id, 'mkdir', '/tmp/d']);
  t.is(exec.status, 1);
  t.regex(exec.stderr, /can't create directory '\/tmp\/d': Read-only file system/, 'the agent answered');
  t.is(await agentExit, 0);
  const [first, second] = JSON.parse(readFileSync(record, 'utf8')) as { pid: number; state: { pid: number; status: string; id: string; bundle: string } }[];
  t.like(first, { pid: init, state: { pid: init, id } });
  t.not(second!.pid, init, "the exec'd process's own pid");
  t.like(second, { state: { id, pid: init, status: 'running', bundle: bundle.dir } });
});

test("only stdio reaches the exec'd program, and the fds given with --preserve-fds", async (t) => {
  const { id } = await running(t);
  const dir = tempDir('exec-fds');
  t.teardown(dir.remove);
  writeFileSync(path.join(dir.dir, 'in'), 'through-fd3\n');
  const fd = openSync(path.join(dir.dir, 'in'), 'r');
  t.teardown(() => closeSync(fd));
  // fd 3 of `oci exec` is not close-on-exec, as the shim's socket is in create's.
  const leaked = state.oci(['exec', id, 'sh', '-c', 'ls /proc/$$/fd; true'], { stdio: ['ignore', 'pipe', 'pipe', fd] });
  t.is(leaked.status, 0, leaked.stderr);
  t.deepEqual(leaked.stdout.trim().split('\n'), ['0', '1', '2']);
  const passed = state.oci(['exec', '--preserve-fds', '1', id, 'sh', '-c', 'ls /proc/$$/fd; cat <&3'], { stdio: ['ignore', 'pipe', 'pipe', fd] });
  t.is(passed.status, 0, passed.stderr);
  t.deepEqual(passed.stdout.trim().split('\n'), ['0', '1', '2', '3', 'through-fd3']);
});

test('a foreground exec passes signals on to its program', async (t) => {
  const { id } = await running(t);
  const child = spawn(
    process.execPath,
    [ociBin, '--root', state.root, 'exec', id, 'sh', '-c', 'trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.1; done'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await eventually(() => stdout.includes('ready\n'), 30_000);
  child.kill('SIGTERM');
  t.is(await exited, 9);
  t.is(stdout, 'ready\ngot-term\n');
});

test('exec into a stopped, paused or missing container, or of a missing program, fails (status 255) and starts nothing', async (t) => {
  const { id, pid } = await running(t, ['sleep', '1000']);
  const missing = state.oci(['exec', id, 'no-such-program']);
  t.is(missing.status, 255);
  t.is(missing.stderr, `oci: exec ${id}: exec: "no-such-program": executable file not found in $PATH\n`);
  t.deepEqual(JSON.parse(state.oci(['ps', '--format', 'json', id]).stdout), [pid]);

  t.is(state.oci(['pause', id]).status, 0);
  const paused = state.oci(['exec', id, 'true']);
  t.is(paused.status, 255);
  t.is(paused.stderr, `oci: exec ${id}: cannot exec in a paused container: resume it first\n`);
  t.is(state.oci(['resume', id]).status, 0);

  t.is(state.oci(['kill', id, 'KILL']).status, 0);
  await eventually(() => (JSON.parse(state.oci(['state', id]).stdout) as { status: string }).status === 'stopped');
  const stopped = state.oci(['exec', id, 'true']);
  t.is(stopped.status, 255);
  t.is(stopped.stderr, `oci: exec ${id}: container not running\n`);

  const unknown = state.oci(['exec', 'no-such-container', 'true']);
  t.is(unknown.status, 255);
  t.regex(unknown.stderr, /container no-such-container does not exist/);
  t.is(state.oci(['exec', id]).status, 2, 'a command to run is needed');
});
