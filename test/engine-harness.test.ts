/**
 * The engine harnesses themselves: a private containerd and podman that pull from the test
 * registry, keep everything under their temp dir, and leave nothing behind. (No container runs
 * here: the engine tests proper run containers on the runtime under test.)
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { pushBusybox } from './harness/busybox.js';
import { startContainerd } from './harness/containerd.js';
import { processes, removeCgroup } from './harness/host.js';
import { startPodman } from './harness/podman.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { waitFor } from './harness/wait.js';

let registry: Registry;
let image: string;
test.before(async () => {
  registry = await startRegistry();
  image = await pushBusybox(registry.host);
});
test.after.always(async () => {
  await registry?.stop();
});

const mountedUnder = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${dir}/`);

test('containerd pulls busybox from the test registry into its own root, and stop() leaves nothing', async (t) => {
  const containerd = await startContainerd();
  try {
    await containerd.pull(image);
    const images = await containerd.ctr(['image', 'list', '--quiet']);
    t.deepEqual(images.stdout.trim().split('\n'), [image]);
    t.true(existsSync(path.join(containerd.dir, 'root', 'io.containerd.content.v1.content')), 'content is stored under the temp root');
    t.true(processes().some(({ argv }) => argv[0] === 'containerd' && argv.some((arg) => arg.startsWith(containerd.dir))));
  } finally {
    await containerd.stop();
  }
  t.false(existsSync(containerd.dir));
  t.false(mountedUnder(containerd.dir));
  t.false(
    processes().some(({ argv }) => argv.some((arg) => arg.includes(containerd.dir))),
    'no daemon or shim left',
  );
});

test('podman pulls busybox with its configuration under the temp dir, and stop() leaves nothing', async (t) => {
  const podman = startPodman({ insecureRegistries: [registry.host] });
  try {
    await podman.pull(image);
    const images = await podman.podman(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    t.is(images.stdout.trim(), image);
    const info = await podman.podman(['info', '--format', '{{.Store.GraphRoot}} {{.Store.GraphDriverName}} {{.Host.CgroupManager}} {{.Host.EventLogger}}']);
    t.is(info.status, 0, info.stderr);
    t.is(info.stdout.trim(), `${path.join(podman.dir, 'storage')} vfs cgroupfs file`);
  } finally {
    await podman.stop();
  }
  t.false(existsSync(podman.dir));
  t.false(mountedUnder(podman.dir));
});

test('removeCgroup kills a frozen process and removes its cgroup from every hierarchy', async (t) => {
  const name = `/oci-test-harness-${process.pid}`;
  const freezer = path.join('/sys/fs/cgroup/freezer', name);
  const memory = path.join('/sys/fs/cgroup/memory', name, 'child');
  t.teardown(() => removeCgroup(name));
  mkdirSync(freezer);
  mkdirSync(memory, { recursive: true });
  const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => sleeper.once('exit', resolve));
  writeFileSync(path.join(freezer, 'cgroup.procs'), String(sleeper.pid));
  writeFileSync(path.join(memory, 'cgroup.procs'), String(sleeper.pid));
  writeFileSync(path.join(freezer, 'freezer.state'), 'FROZEN');
  await waitFor(() => readFileSync(path.join(freezer, 'freezer.state'), 'utf8').trim() === 'FROZEN', 'the freezer to freeze');

  removeCgroup(name);
  t.false(existsSync(freezer));
  t.false(existsSync(path.dirname(memory)));
  t.is(await exited, null, 'killed by a signal');
});
