/**
 * podman (Debian's 4.3, with conmon) driving our runtime: issue 6's scenarios (run, -t, exec,
 * exec -t, stop, rm -f), podman's stock container as it configures it, pause/unpause and update. The runtime
 * is `oci` unless OCI_TEST_RUNTIME names another (e.g. /usr/sbin/runc: every scenario passes on
 * it too).
 */

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { pushBusybox } from './harness/busybox.js';
import { engineRuntime } from './harness/engine-runtime.js';
import { type Podman, startPodman } from './harness/podman.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { runInTerminal } from './harness/run.js';
import { tempDir } from './harness/tmp.js';
import { waitFor } from './harness/wait.js';

let registry: Registry;
let podman: Podman;
let image: string;
let runtime: string;
const runtimeDir = tempDir('runtime');

test.before(async () => {
  registry = await startRegistry();
  image = await pushBusybox(registry.host);
  runtime = engineRuntime(runtimeDir.dir);
  podman = startPodman({ insecureRegistries: [registry.host], jsonRuntimes: [path.basename(runtime)] });
  await podman.pull(image);
});

test.after.always(async () => {
  await podman?.stop();
  await registry?.stop();
  runtimeDir.remove();
});

const newName = () => `t-${randomBytes(4).toString('hex')}`;

/** `podman run [flags] IMAGE ARGS…` on our runtime. */
const podmanRun = (flags: readonly string[], args: readonly string[]) => podman.podman(['run', ...podman.runOptions(runtime), ...flags, image, ...args]);

/** A detached, named busybox container running `script`. */
async function detached(t: { teardown(fn: () => Promise<void>): void }, script: string): Promise<string> {
  const name = newName();
  t.teardown(async () => {
    await podman.podman(['rm', '--force', '--time', '0', name]);
  });
  const started = await podmanRun(['--detach', '--name', name], ['sh', '-c', script]);
  if (started.status !== 0) throw new Error(`podman run -d failed: ${started.stderr}`);
  return name;
}

async function inspect(name: string, format: string): Promise<string> {
  const result = await podman.podman(['container', 'inspect', '--format', format, name]);
  if (result.status !== 0) throw new Error(`podman inspect ${name}: ${result.stderr}`);
  return result.stdout.trim();
}

/** Waits until the container has created `file` (the host sees its rootfs through its init's /proc/PID/root). */
async function waitForFile(name: string, file: string): Promise<void> {
  const pid = await inspect(name, '{{.State.Pid}}');
  await waitFor(() => existsSync(`/proc/${pid}/root${file}`), `${file} in container ${name}`);
}

test('podman run --rm passes the container output through and removes the container', async (t) => {
  const name = newName();
  const result = await podmanRun(['--rm', '--name', name], ['sh', '-c', 'echo hi; echo to-stderr >&2']);
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout, 'hi\n');
  t.regex(result.stderr, /to-stderr/);
  t.is((await podman.podman(['container', 'exists', name])).status, 1, 'the container is gone');
});

test('podman run exits with the container process exit status', async (t) => {
  const result = await podmanRun(['--rm'], ['sh', '-c', 'exit 3']);
  t.is(result.status, 3, result.stderr);
});

test('podman run -t gives the container a terminal', async (t) => {
  const result = await runInTerminal(
    'podman',
    ['run', ...podman.runOptions(runtime), '--rm', '--tty', image, 'sh', '-c', 'tty; test -t 0 && echo stdin-is-a-tty'],
    {
      env: podman.env,
    },
  );
  t.is(result.status, 0, result.stdout + result.stderr);
  t.regex(result.stdout, /^\/dev\/pts\/\d+\r+\nstdin-is-a-tty\r+\n/m);
});

test('podman run -d, then podman exec runs a second process in the same container', async (t) => {
  const name = await detached(t, 'exec sleep 1000');
  t.is(await inspect(name, '{{.State.Status}}'), 'running');
  const exec = await podman.podman(['exec', name, 'sh', '-c', 'echo $$; tr "\\0" " " < /proc/1/cmdline']);
  t.is(exec.status, 0, exec.stderr);
  const [execPid, initCmdline] = exec.stdout.split('\n');
  t.not(execPid, '1');
  t.is(initCmdline, 'sleep 1000 ');
  const failing = await podman.podman(['exec', name, 'sh', '-c', 'exit 7']);
  t.is(failing.status, 7, 'the exec exit status comes back');
  const missing = await podman.podman(['exec', name, 'no-such-program']);
  t.is(missing.status, 127, 'podman reads "executable file not found" in our message: 127');
});

test('podman exec -t gives the exec process a terminal', async (t) => {
  const name = await detached(t, 'exec sleep 1000');
  const result = await runInTerminal('podman', ['exec', '--tty', name, 'sh', '-c', 'tty; test -t 0 && echo stdin-is-a-tty'], { env: podman.env });
  t.is(result.status, 0, result.stdout + result.stderr);
  t.regex(result.stdout, /^\/dev\/pts\/\d+\r+\nstdin-is-a-tty\r+\n/m);
});

test('podman stop sends SIGTERM, which a container can handle', async (t) => {
  const name = await detached(t, 'trap "exit 42" TERM; touch /tmp/ready; while true; do sleep 0.1; done');
  await waitForFile(name, '/tmp/ready');
  const stopped = await podman.podman(['stop', '--time', '30', name]);
  t.is(stopped.status, 0, stopped.stderr);
  t.is(await inspect(name, '{{.State.Status}}'), 'exited');
  t.is(await inspect(name, '{{.State.ExitCode}}'), '42');
});

test('podman stop falls back to SIGKILL when the container ignores SIGTERM', async (t) => {
  // A pid 1 without a handler ignores SIGTERM.
  const name = await detached(t, 'exec sleep 1000');
  const stopped = await podman.podman(['stop', '--time', '1', name]);
  t.is(stopped.status, 0, stopped.stderr);
  t.is(await inspect(name, '{{.State.Status}}'), 'exited');
  t.is(await inspect(name, '{{.State.ExitCode}}'), '137');
});

test('podman rm -f kills and removes a running container', async (t) => {
  const name = await detached(t, 'exec sleep 1000');
  const pid = Number(await inspect(name, '{{.State.Pid}}'));
  t.true(pid > 0);
  const removed = await podman.podman(['rm', '--force', name]);
  t.is(removed.status, 0, removed.stderr);
  t.is((await podman.podman(['container', 'exists', name])).status, 1, 'the container is gone');
  t.throws(() => process.kill(pid, 0), undefined, 'its process is gone');
});

test("podman's stock container runs as configured: seccomp on, SIGPIPE not ignored, /dev/null usable, cgroups mounted, its files bound in", async (t) => {
  const name = newName();
  const script = [
    'grep -E "^(Seccomp|SigIgn|SigBlk):" /proc/self/status',
    'echo x > /dev/null && echo dev-null-writable',
    'ls /sys/fs/cgroup',
    'echo "$(cat /etc/hostname)"',
    'test -f /run/.containerenv && echo containerenv',
  ].join('; ');
  const result = await podmanRun(['--rm', '--name', name, '--hostname', 'stock'], ['sh', '-c', script]);
  t.is(result.status, 0, result.stderr);
  const lines = result.stdout.split('\n');
  t.true(lines.includes('Seccomp:\t2'), 'the seccomp filter podman asks for is loaded');
  const mask = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\t(\\w+)$`, 'm').exec(result.stdout)?.[1]}`);
  const SIGPIPE = 1n << 12n;
  t.is(mask('SigIgn') & SIGPIPE, 0n, 'conmon ignores SIGPIPE; the container must not');
  t.is(mask('SigBlk'), 0n);
  t.true(lines.includes('dev-null-writable'), "runc's default device rules are appended to podman's deny-all");
  t.true(lines.includes('memory') && lines.includes('pids'), 'the cgroup mount shows the hierarchies');
  t.true(lines.includes('stock'), '/etc/hostname is bound in');
  t.true(lines.includes('containerenv'), '/run/.containerenv, a file the image lacks, is bound in');
});

test('podman pause and unpause freeze and thaw the container through the runtime', async (t) => {
  const name = await detached(t, 'exec sleep 1000');
  const paused = await podman.podman(['pause', name]);
  t.is(paused.status, 0, paused.stderr);
  t.is(await inspect(name, '{{.State.Status}}'), 'paused');
  const pid = await inspect(name, '{{.State.Pid}}');
  t.regex(readFileSync(`/proc/${pid}/status`, 'utf8'), /^State:\s+D/m, 'frozen by the cgroup freezer');
  const unpaused = await podman.podman(['unpause', name]);
  t.is(unpaused.status, 0, unpaused.stderr);
  t.is(await inspect(name, '{{.State.Status}}'), 'running');
  t.regex(readFileSync(`/proc/${pid}/status`, 'utf8'), /^State:\s+S/m);
});

test("podman update sets a running container's memory limit through the runtime", async (t) => {
  const name = await detached(t, 'exec sleep 1000');
  const updated = await podman.podman(['update', '--memory', '48m', '--memory-swap', '96m', name]);
  t.is(updated.status, 0, updated.stderr);
  const pid = await inspect(name, '{{.State.Pid}}');
  const cgroup = /^\d+:memory:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))![1]!;
  const read = (file: string) => readFileSync(path.join('/sys/fs/cgroup/memory', cgroup, file), 'utf8').trim();
  t.is(read('memory.limit_in_bytes'), String(48 << 20));
  t.is(read('memory.memsw.limit_in_bytes'), String(96 << 20));
});

test('podman run --read-only: the root is read-only, the tmpfs mounts podman adds (tmpcopyup) are writable', async (t) => {
  const script = 'touch /tmp/x /run/x /var/tmp/x /scratch/x && echo tmpfs-writable; touch /etc/x 2>/dev/null || echo root-read-only';
  const result = await podmanRun(['--rm', '--read-only', '--tmpfs', '/scratch'], ['sh', '-c', script]);
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout, 'tmpfs-writable\nroot-read-only\n');
});
