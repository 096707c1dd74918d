/**
 * A container that lists no namespace of a type inherits the runtime's (the runtime spec's
 * rule), the mount namespace included: its mounts are made in the host's, under its rootfs,
 * private, and detached on delete; a rootfs that was a mount point before stays one.
 */

import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import test from 'ava';
import { busyboxBundle, type TestBundle, uniqueId } from './harness/bundle.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

const NAMESPACES = ['mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'];

/** A bundle with no namespaces (and so no hostname, masked or read-only paths). */
async function hostBundle(t: { teardown(fn: () => void): void }, args: string[]): Promise<TestBundle> {
  const b = await busyboxBundle(args, (spec) => {
    spec.linux!.namespaces = [];
    delete spec.hostname;
    delete spec.linux!.maskedPaths;
    delete spec.linux!.readonlyPaths;
  });
  t.teardown(b.remove);
  return b;
}

const mountsUnder = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point) => point === dir || point?.startsWith(`${dir}/`));

test("without namespaces the container shares the runtime's; its mounts live under its rootfs until delete", async (t) => {
  const b = await hostBundle(t, ['sleep', '1000']);
  const id = uniqueId('hostns');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  const run = state.ociDetached(['run', '--detach', '--bundle', b.dir, id]);
  t.is(run.status, 0, run.stderr);
  const { pid } = JSON.parse(state.oci(['state', id]).stdout) as { pid: number };
  for (const ns of NAMESPACES) t.is(readlinkSync(`/proc/${pid}/ns/${ns}`), readlinkSync(`/proc/self/ns/${ns}`), ns);
  t.is(readlinkSync(`/proc/${pid}/root`), b.rootfs, 'chrooted into its rootfs');
  const mounts = mountsUnder(b.rootfs);
  t.true(mounts.includes(`${b.rootfs}/proc`) && mounts.includes(`${b.rootfs}/dev`), mounts.join(' '));
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === `${b.rootfs}/proc`)!;
  t.notRegex(line, / (shared|master):\d+ /, 'private: nothing propagates from it');
  t.is(state.oci(['delete', '--force', id]).status, 0);
  t.deepEqual(mountsUnder(b.rootfs), []);
});

test('a rootfs that is a mount point already stays mounted after delete', async (t) => {
  const b = await hostBundle(t, ['true']);
  t.is(spawnSync('mount', ['--bind', b.rootfs, b.rootfs]).status, 0);
  t.teardown(() => void spawnSync('umount', ['--recursive', '--lazy', b.rootfs]));
  const run = state.oci(['run', '--bundle', b.dir, uniqueId('hostns')]);
  t.is(run.status, 0, run.stderr);
  t.deepEqual(mountsUnder(b.rootfs), [b.rootfs]);
});

test('masked and read-only paths need a mount namespace: refused without one', async (t) => {
  const b = await busyboxBundle(['true'], (spec) => {
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'mount');
  });
  t.teardown(b.remove);
  const id = uniqueId('hostns');
  const run = state.oci(['run', '--bundle', b.dir, id]);
  t.is(run.status, 1);
  t.regex(run.stderr, /linux\.maskedPaths needs a mount namespace/);
  t.false(state.exists(id));
});
