/**
 * User namespaces: a root container whose root is an unprivileged uid on the host, with the
 * mounts a user namespace changes (devices bound, sysfs and mqueue borrowed); and rootless
 * containers run by an unprivileged user (uid 65534), mapping only its own ids or, through
 * newuidmap, its subordinate ids from /etc/subuid, without a cgroup where it cannot make one.
 */

import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { toRootless } from '@oci/bundle/rootless';
import type { Spec } from '@oci/specs';
import test from 'ava';
import { busyboxBundle, uniqueId } from './harness/bundle.js';
import { eventually, type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';
import { NOBODY, unprivileged } from './harness/unprivileged.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

type T = { teardown(fn: () => void): void };
const HOST = 100000;

function withUserNamespace(spec: Spec) {
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.linux!.uidMappings = [{ containerID: 0, hostID: HOST, size: 65536 }];
  spec.linux!.gidMappings = [{ containerID: 0, hostID: HOST, size: 65536 }];
}

/**
 * A directory the container writes its findings to, owned by the host uid its root maps to.
 * Its mount point is made in the rootfs here: the rootfs belongs to the host's root, which the
 * user namespace does not map, so the container's root may not create it.
 */
function outDir(t: T, owner: number) {
  const out = tempDir('userns-out');
  t.teardown(out.remove);
  chmodSync(out.dir, 0o755);
  chownSync(out.dir, owner, owner);
  return out.dir;
}

const hostIds = (pid: number, field: 'Uid' | 'Gid') =>
  new RegExp(`^${field}:\\s+(.*)$`, 'm')
    .exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!
    .split(/\s+/)
    .map(Number);

test('root in the container is an unprivileged uid on the host', async (t) => {
  const out = outDir(t, HOST);
  const script =
    'id -u > /out/.log; id -g >> /out/.log; cat /proc/self/uid_map >> /out/.log; ls -ln /dev/null >> /out/.log; touch /out/made; mv /out/.log /out/log; exec sleep 30';
  const bundle = await busyboxBundle(['sh', '-c', script], (spec) => {
    withUserNamespace(spec);
    spec.mounts!.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
  });
  t.teardown(bundle.remove);
  chmodSync(bundle.dir, 0o755);
  mkdirSync(path.join(bundle.rootfs, 'out'));
  const id = uniqueId('userns');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  const created = state.ociDetached(['create', '--bundle', bundle.dir, id]);
  t.is(created.status, 0, created.stderr);
  const { pid } = JSON.parse(state.oci(['state', id]).stdout) as { pid: number };
  t.is(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).join(' '), `0 ${HOST} 65536`);
  t.is(state.oci(['start', id]).status, 0);
  await eventually(() => existsSync(path.join(out, 'log')));

  const [uid, gid, map, devNull] = readFileSync(path.join(out, 'log'), 'utf8').trim().split('\n');
  t.is(uid, '0');
  t.is(gid, '0');
  t.is(map!.trim().split(/\s+/).join(' '), `0 ${HOST} 65536`);
  // The host's /dev/null, bound (mknod is refused in a user namespace); its owner is not mapped.
  t.regex(devNull!, /^crw-rw-rw-\s+1 65534\s+65534\s+1,\s+3 /);
  t.deepEqual(hostIds(pid, 'Uid'), [HOST, HOST, HOST, HOST]);
  t.deepEqual(hostIds(pid, 'Gid'), [HOST, HOST, HOST, HOST]);
  t.like(statSync(path.join(out, 'made')), { uid: HOST, gid: HOST });
});

test("in a user namespace without a network namespace, sysfs is the host's, bound", async (t) => {
  const bundle = await busyboxBundle(['sh', '-c', 'ls /sys/kernel >/dev/null && echo sys-ok; grep -E " /sys " /proc/self/mountinfo'], (spec) => {
    withUserNamespace(spec);
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((ns) => ns.type !== 'network');
  });
  t.teardown(bundle.remove);
  chmodSync(bundle.dir, 0o755);
  const { status, stdout, stderr } = state.oci(['run', '--bundle', bundle.dir, uniqueId('userns')]);
  t.is(status, 0, stderr);
  t.regex(stdout, /^sys-ok$/m);
  // Mounting sysfs afresh is refused without its network namespace (EPERM): this is the host's, read-only.
  t.regex(stdout, / \/sys ro,nosuid,nodev,noexec\S* .*- sysfs /);
});

/** A rootless bundle nobody can read, with its config.json as `oci spec --rootless` writes it. */
async function rootlessBundle(t: T, args: string[], adjust: (spec: Spec) => void = () => {}) {
  const bundle = await busyboxBundle(args, (spec) => {
    toRootless(spec, { uid: NOBODY, gid: NOBODY });
    adjust(spec);
  });
  t.teardown(bundle.remove);
  chmodSync(bundle.dir, 0o755);
  return bundle;
}

test('rootless: an unprivileged user runs a container as root of its own user namespace, without a cgroup', async (t) => {
  const nobody = unprivileged();
  t.teardown(nobody.remove);
  const bundle = await rootlessBundle(t, ['sh', '-c', 'id; cat /proc/self/uid_map; grep CapEff /proc/self/status; exec sleep 30']);
  const id = uniqueId('rootless');
  const created = nobody.oci(['create', '--bundle', bundle.dir, id]);
  t.is(created.status, 0, created.stderr);
  const stateFile = path.join(nobody.runtimeDir, 'oci', id, 'state.json');
  t.true(existsSync(stateFile), 'state under $XDG_RUNTIME_DIR/oci');
  const stored = JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number; cgroup: { dirs: string[] } };
  t.deepEqual(stored.cgroup.dirs, [], 'nobody cannot make cgroups here: none, as runc does rootless');
  t.is(nobody.oci(['start', id]).status, 0);
  t.deepEqual(hostIds(stored.pid, 'Uid'), [NOBODY, NOBODY, NOBODY, NOBODY]);
  t.like(JSON.parse(nobody.oci(['state', id]).stdout), { status: 'running', pid: stored.pid });
  // exec joins its namespaces (setgroups denied there: the groups are left alone).
  const exec = nobody.oci(['exec', id, 'sh', '-c', 'id; cat /proc/self/uid_map']);
  t.is(exec.status, 0, exec.stderr);
  t.regex(exec.stdout, new RegExp(`^uid=0\\(root\\) gid=0\\(root\\)\n\\s+0\\s+${NOBODY}\\s+1\n$`));
  t.is(nobody.oci(['kill', id, 'KILL']).status, 0);
  await eventually(() => !existsSync(`/proc/${stored.pid}`) || readFileSync(`/proc/${stored.pid}/stat`, 'utf8').includes(') Z'));
  const deleted = nobody.oci(['delete', id]);
  t.is(deleted.status, 0, deleted.stderr);
  t.false(existsSync(path.dirname(stateFile)));

  // Foreground: what the container printed.
  const shown = await rootlessBundle(t, ['sh', '-c', 'id; cat /proc/self/uid_map; grep CapEff /proc/self/status']);
  const result = nobody.oci(['run', '--bundle', shown.dir, uniqueId('rootless')]);
  t.is(result.status, 0, result.stderr);
  const [ids, map, caps] = result.stdout.trim().split('\n');
  t.is(ids, 'uid=0(root) gid=0(root)');
  t.is(map!.trim().split(/\s+/).join(' '), `0 ${NOBODY} 1`);
  t.regex(caps!, /^CapEff:\s+0+20000420$/); // the default spec's three capabilities, in its namespace
});

test("rootless with subordinate ids: newuidmap maps /etc/subuid's range, `spec --rootless` included", async (t) => {
  const nobody = unprivileged({ subordinate: `${NOBODY}:200000:65536\n` });
  t.teardown(nobody.remove);
  const bundle = await rootlessBundle(t, ['true']);
  // Let nobody write the bundle's config.json, as `oci spec --rootless` would.
  chownSync(bundle.dir, NOBODY, NOBODY);
  const dir = bundle.dir;
  const spec = path.join(dir, 'config.json');
  rmSync(spec);
  const generated = nobody.oci(['spec', '--rootless'], dir);
  t.is(generated.status, 0, generated.stderr);
  const config = JSON.parse(readFileSync(spec, 'utf8')) as Spec;
  t.deepEqual(config.linux!.uidMappings, [
    { containerID: 0, hostID: NOBODY, size: 1 },
    { containerID: 1, hostID: 200000, size: 65536 },
  ]);
  t.deepEqual(config.linux!.gidMappings, config.linux!.uidMappings);

  const out = outDir(t, 200999);
  config.process = {
    ...config.process!,
    terminal: false,
    args: ['sh', '-c', 'id > /out/.log; cat /proc/self/uid_map >> /out/.log; mv /out/.log /out/log; exec sleep 30'],
    user: { uid: 1000, gid: 1000, additionalGids: [100] },
  };
  config.mounts!.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
  writeFileSync(spec, JSON.stringify(config));
  mkdirSync(path.join(bundle.rootfs, 'out'));
  const id = uniqueId('subid');
  const created = nobody.oci(['create', '--bundle', dir, id]);
  t.is(created.status, 0, created.stderr);
  t.is(nobody.oci(['start', id]).status, 0);
  await eventually(() => existsSync(path.join(out, 'log')));
  const [ids, ...maps] = readFileSync(path.join(out, 'log'), 'utf8').trim().split('\n');
  t.is(ids, 'uid=1000 gid=1000 groups=100(users)');
  t.deepEqual(
    maps.map((m) => m.trim().split(/\s+/).join(' ')),
    [`0 ${NOBODY} 1`, '1 200000 65536'],
  );
  const { pid } = JSON.parse(nobody.oci(['state', id]).stdout) as { pid: number };
  t.deepEqual(hostIds(pid, 'Uid'), [200999, 200999, 200999, 200999]);
  t.is(nobody.oci(['delete', '--force', id]).status, 0);
});

test("rootless refusals: ids that are not the user's, and no user namespace at all", async (t) => {
  const nobody = unprivileged({ subordinate: `${NOBODY}:200000:10\n` });
  t.teardown(nobody.remove);
  const outside = await rootlessBundle(t, ['true'], (spec) => {
    spec.linux!.uidMappings = [
      { containerID: 0, hostID: NOBODY, size: 1 },
      { containerID: 1, hostID: 200000, size: 1000 },
    ];
  });
  const id = uniqueId('refused');
  const refused = nobody.oci(['create', '--bundle', outside.dir, id]);
  t.is(refused.status, 1);
  t.regex(refused.stderr, /linux\.uidMappings: host uids 200000-200999 are neither yours \(65534\) nor subordinate uids of nobody in \/etc\/subuid/);
  t.false(existsSync(path.join(nobody.runtimeDir, 'oci', id)));

  const plain = await busyboxBundle(['true']);
  t.teardown(plain.remove);
  chmodSync(plain.dir, 0o755);
  const noUserns = nobody.oci(['run', '--bundle', plain.dir, uniqueId('refused')]);
  t.is(noUserns.status, 1);
  t.regex(noUserns.stderr, /an unprivileged user needs a user namespace mapping it to root: see `oci spec --rootless`/);
});
