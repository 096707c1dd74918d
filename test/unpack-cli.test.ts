/**
 * `oci unpack`, `oci spec --rootless` and `oci import` as a user runs them: images pushed to the
 * real registry and pulled with `oci pull`, bundles run by Debian's runc.
 */

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Spec } from '@oci/bundle';
import test from 'ava';
import { busyboxLayer } from './harness/busybox.js';
import { oci, ociAsync, ociBin } from './harness/cli.js';
import { buildImage, pushLayout, tarLayer, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { runcRun } from './harness/runc.js';
import { eventually, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';
import { snapshot, treeDiff } from './harness/tree.js';
import { pushUnpackImages } from './harness/unpack-images.js';

let registry: Registry;
test.before(async () => {
  registry = await startRegistry();
  await pushUnpackImages(registry);
});
test.after.always(async () => {
  await registry?.stop();
});

const env = () => ({ ...process.env, OCI_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, HOME: '/nonexistent' });
const spec = (bundle: string) => JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) as Spec;

function workspace(t: { teardown(fn: () => void): void }) {
  const store = tempDir('store');
  const work = tempDir('work');
  t.teardown(store.remove);
  t.teardown(work.remove);
  const run = (args: string[], cwd = work.dir) => oci(['--store', store.dir, ...args], { cwd, env: env() });
  const runAsync = (args: string[]) => ociAsync(['--store', store.dir, ...args], { cwd: work.dir, env: env() });
  return { store: store.dir, dir: work.dir, run, runAsync };
}

test('oci pull busybox && oci unpack in an empty directory makes a bundle that runc runs', (t) => {
  const { dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox']).status, 0);
  const unpacked = run(['unpack']);
  t.is(unpacked.status, 0, unpacked.stderr);
  t.is(unpacked.stderr, '');
  t.deepEqual(readdirSync(dir).sort(), ['config.json', 'rootfs']);
  t.true(statSync(path.join(dir, 'rootfs/bin/busybox')).isFile());
  t.deepEqual(spec(dir).process!.args, ['sh']);
  const ran = runcRun(dir);
  t.is(ran.status, 0, ran.stderr);
});

test('a bundle path through a file, or a file itself, is one line naming the file in the way; umoci refuses it too', (t) => {
  const { dir, run, store } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox']).status, 0);
  const file = path.join(dir, 'afile');
  writeFileSync(file, 'not a directory');
  for (const bundle of [path.join(file, 'bundle'), path.join(file, 'deeper', 'bundle'), file]) {
    const unpacked = run(['unpack', 'busybox', bundle]);
    t.is(unpacked.status, 1);
    t.is(unpacked.stderr, `oci: unpack busybox: cannot make the bundle directory ${bundle}: ${file} is not a directory\n`);
  }
  t.is(readFileSync(file, 'utf8'), 'not a directory');
  const umoci = spawnSync('umoci', ['unpack', '--image', `${store}:docker.io/library/busybox:latest`, path.join(file, 'bundle')], { encoding: 'utf8' });
  t.not(umoci.status, 0);
});

test('the generated config.json runs the image as it says: entrypoint, cmd, env, user and groups, working directory', (t) => {
  const { dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', `busybox:app`]).status, 0);
  const bundle = path.join(dir, 'app-bundle');
  const unpacked = run(['unpack', 'busybox:app', bundle]);
  t.is(unpacked.status, 0, unpacked.stderr);
  t.is(statSync(bundle).mode & 0o777, 0o700, 'the bundle directory is created 0700');
  t.deepEqual(spec(bundle).process!.user, { uid: 1, gid: 1 });
  const ran = runcRun(bundle);
  t.is(ran.status, 0, ran.stderr);
  t.is(ran.stdout, 'hello from 1:1 groups 1 in /srv\n');
});

test('on a terminal, oci unpack draws a bar per layer with its bytes; into a pipe it draws nothing', (t) => {
  const { dir, store, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox:app']).status, 0);
  const drawn = spawnSync('script', ['-qec', `${process.execPath} ${ociBin} --store ${store} unpack busybox:app b`, '/dev/null'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...env(), COLUMNS: '120' },
  });
  t.is(drawn.status, 0, drawn.stdout);
  const inspected = JSON.parse(run(['inspect', 'busybox:app']).stdout) as { Manifest: { layers: { digest: string }[] } };
  for (const layer of inspected.Manifest.layers) t.regex(drawn.stdout, new RegExp(`${layer.digest.slice(7, 19)} \\[=+\\] [\\d.]+ [kM]?B / [\\d.]+ [kM]?B`));
  const piped = run(['unpack', 'busybox:app', 'piped']);
  t.is(piped.status, 0);
  t.is(piped.stderr, '');
});

test('a bundle that is there is replaced only with --force', (t) => {
  const { dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox']).status, 0);
  t.is(run(['unpack', 'busybox', 'b']).status, 0);
  writeFileSync(path.join(dir, 'b/rootfs/extra'), 'left from before');
  const again = run(['unpack', 'busybox', 'b']);
  t.is(again.status, 1);
  t.regex(again.stderr, /^oci: unpack busybox: .*b already holds a bundle \(config\.json\): use --force to replace it\n$/);
  t.true(existsSync(path.join(dir, 'b/rootfs/extra')), 'nothing was touched');
  rmSync(path.join(dir, 'b/config.json'));
  const rootfsOnly = run(['unpack', 'busybox', 'b']);
  t.is(rootfsOnly.status, 1);
  t.regex(rootfsOnly.stderr, /b\/rootfs is not empty: use --force to replace it\n$/, 'a non-empty rootfs alone needs --force too');
  const forced = run(['unpack', '--force', 'busybox', 'b']);
  t.is(forced.status, 0, forced.stderr);
  t.false(existsSync(path.join(dir, 'b/rootfs/extra')), 'the rootfs was replaced');
  t.deepEqual(readdirSync(path.join(dir, 'b')).sort(), ['config.json', 'rootfs']);
});

test('two unpacks racing into one new bundle directory: one makes the bundle, the other finds it there', async (t) => {
  const { dir, run, runAsync } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox']).status, 0);
  t.is(run(['unpack', 'busybox', 'reference']).status, 0);
  const reference = snapshot(path.join(dir, 'reference/rootfs'));
  for (let round = 1; round <= 4; round++) {
    const bundle = `race-${round}`;
    const results = await Promise.all([runAsync(['unpack', 'busybox', bundle]), runAsync(['unpack', 'busybox', bundle])]);
    t.deepEqual(results.map((r) => r.status).sort(), [0, 1], `round ${round}: ${results.map((r) => r.stderr).join('')}`);
    const loser = results.find((r) => r.status === 1)!;
    t.regex(loser.stderr, /^oci: unpack busybox: \S+ already holds a bundle \(config\.json\): use --force to replace it\n$/);
    t.deepEqual(readdirSync(path.join(dir, bundle)).sort(), ['config.json', 'rootfs']);
    t.deepEqual(treeDiff(snapshot(path.join(dir, bundle, 'rootfs')), reference), [], "the winner's rootfs is whole");
  }
});

test('temp copies of an unpack killed with -9 are removed by the next unpack of that bundle, even one that fails', async (t) => {
  const { dir, run, store } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox:large']).status, 0);
  t.is(run(['pull', '--quiet', 'busybox:corrupt']).status, 0);
  const bundle = path.join(dir, 'b');
  const temps = () => (existsSync(bundle) ? readdirSync(bundle).filter((name) => name.startsWith('.')) : []);
  let killedMidway = 0;
  // How long after its temp copy appears a kill may land: halved after each kill that came once
  // the unpack had finished, so that a fast machine gets kills midway too.
  let window = 400;
  for (let round = 0; round < 6; round++) {
    const child = spawn(ociBin, ['--store', store, 'unpack', '--force', 'busybox:large', bundle], { env: env(), stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Once its temp copy is there, at a random point of the unpack.
    await eventually(() => temps().length > 0 || child.exitCode !== null, 30_000);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * window));
    child.kill('SIGKILL');
    await exited;
    if (temps().length > 0) killedMidway++;
    else window /= 2;
  }
  t.true(killedMidway > 0, 'some kill landed while an unpack was under way');
  // A kill between writing config.json's temp and renaming it is rare by chance: made certain here.
  writeFileSync(path.join(bundle, '.config.json-1'), '{');
  const failed = run(['unpack', '--force', 'busybox:corrupt', bundle]);
  t.is(failed.status, 1);
  t.deepEqual(temps(), [], 'a failed unpack removed them, and left none of its own');
  const unpacked = run(['unpack', '--force', 'busybox:large', bundle]);
  t.is(unpacked.status, 0, unpacked.stderr);
  t.deepEqual(readdirSync(bundle).sort(), ['config.json', 'rootfs']);
});

test('a corrupt layer: one line, non-zero, and no bundle that looks complete', (t) => {
  const { dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox:corrupt']).status, 0);
  const result = run(['unpack', 'busybox:corrupt', 'b']);
  t.is(result.status, 1);
  t.regex(result.stderr, /^oci: unpack busybox:corrupt: layer 2: corrupt gzip data \(unexpected end of file\)\n$/);
  t.deepEqual(readdirSync(path.join(dir, 'b')), [], 'no config.json, no rootfs, no temp dirs');
});

test('a full disk fails the unpack with one line, mid-layer, and leaves no bundle', (t) => {
  const { run } = workspace(t);
  const disk = tempDir('tmpfs');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk.dir], { encoding: 'utf8' });
  t.teardown(() => {
    spawnSync('umount', [disk.dir]);
    disk.remove();
  });
  t.is(mounted.status, 0, `mounting a small tmpfs needs root: ${mounted.stderr}`);
  t.is(run(['pull', '--quiet', 'busybox:large']).status, 0);
  const bundle = path.join(disk.dir, 'bundle');
  const full = run(['unpack', 'busybox:large', bundle]);
  t.is(full.status, 1);
  t.regex(full.stderr, /^oci: unpack busybox:large: layer 1: data: ENOSPC: no space left on device, write\n$/);
  t.deepEqual(readdirSync(bundle), []);
});

test('an image volume never becomes a host path outside BUNDLE/volumes, and two volumes never share one', (t) => {
  const { dir, run } = workspace(t);
  for (const [tag, volume] of [
    ['volume-up', '/..'],
    ['volume-dot', '/.'],
    ['volume-up-twice', '/a/../..'],
  ]) {
    t.is(run(['pull', '--quiet', `busybox:${tag}`]).status, 0);
    const refused = run(['unpack', `busybox:${tag}`, tag]);
    t.is(refused.status, 1, tag);
    t.is(refused.stderr, `oci: unpack busybox:${tag}: volume '${volume}' is the container's root directory, which cannot be a volume\n`);
    t.deepEqual(readdirSync(path.join(dir, tag)), [], `${tag}: no bundle, no temp copies`);
  }
  t.is(run(['pull', '--quiet', 'busybox:volume-relative']).status, 0);
  t.is(run(['unpack', 'busybox:volume-relative', 'relative']).stderr, "oci: unpack busybox:volume-relative: volume '../x' is not an absolute path\n");

  t.is(run(['pull', '--quiet', 'busybox:volumes']).status, 0);
  const bundle = path.join(dir, 'volumes');
  const unpacked = run(['unpack', 'busybox:volumes', bundle]);
  t.is(unpacked.status, 0, unpacked.stderr);
  const volumes = spec(bundle).mounts!.filter((m) => m.source?.startsWith('volumes/'));
  t.deepEqual(
    volumes.map((m) => [m.destination, m.source]),
    [
      ['/a/b', 'volumes/a_b'],
      ['/a_b', 'volumes/a%5Fb'],
      ['/data', 'volumes/data'],
      ['/x', 'volumes/x'],
    ],
  );
  for (const { source } of volumes) t.is(path.dirname(realpathSync(path.resolve(bundle, source!))), path.join(realpathSync(bundle), 'volumes'), source);

  // The container writes to every path that climbs: they stay in its rootfs and its volumes.
  const outside = () => Object.entries(snapshot(bundle)).filter(([name]) => !/^(rootfs|volumes)\//.test(name));
  const before = outside();
  const config = readFileSync(path.join(bundle, 'config.json'));
  const state = stateRoot();
  t.teardown(state.remove);
  const ran = state.oci(['run', '-b', bundle], { cwd: dir });
  t.is(ran.status, 0, ran.stderr);
  t.deepEqual(readFileSync(path.join(bundle, 'config.json')), config, "the bundle's config.json is unchanged");
  t.deepEqual(outside(), before, 'nothing outside rootfs/ and volumes/ changed');
  t.is(readFileSync(path.join(bundle, 'rootfs/config.json'), 'utf8'), 'pwned\n', '/.. is / in the container');
  t.is(readFileSync(path.join(bundle, 'volumes/a_b/f'), 'utf8'), 'b\n');
  t.is(readFileSync(path.join(bundle, 'volumes/a%5Fb/f'), 'utf8'), 'ab\n');
  t.is(readFileSync(path.join(bundle, 'volumes/x/f'), 'utf8'), 'x\n');
});

test('an unknown user: one line, non-zero, no config.json', (t) => {
  const { dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox:stranger']).status, 0);
  const result = run(['unpack', 'busybox:stranger', 'b']);
  t.is(result.status, 1);
  t.is(result.stderr, "oci: unpack busybox:stranger: unknown user 'stranger': not in the image's /etc/passwd\n");
  t.deepEqual(readdirSync(path.join(dir, 'b')), []);
});

test('unpack without an image pulled, and of an image not in the store, say so', (t) => {
  const { run } = workspace(t);
  t.regex(run(['unpack']).stderr, /^oci: unpack: no image pulled yet: give a REF/);
  t.regex(run(['pull', '--quiet', 'busybox']).stderr, /^$/);
  const missing = run(['unpack', 'alpine', 'b']);
  t.is(missing.status, 1);
  t.is(missing.stderr, 'oci: unpack alpine: no image named alpine in the store\n');
});

test('--rootless and --uid-map write the matching user namespace into config.json', (t) => {
  const { dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox']).status, 0);
  t.is(run(['unpack', '--rootless', 'busybox', 'rootless']).status, 0);
  const rootless = spec(path.join(dir, 'rootless'));
  t.true(rootless.linux!.namespaces!.some((n) => n.type === 'user'));
  t.false(rootless.linux!.namespaces!.some((n) => n.type === 'network'));
  t.deepEqual(rootless.linux!.uidMappings, [{ containerID: 0, hostID: 0, size: 1 }]);
  t.is(run(['unpack', '--uid-map', '0:100000:65536', '--gid-map', '0:100000:65536', 'busybox', 'shifted']).status, 0);
  const shifted = spec(path.join(dir, 'shifted'));
  t.deepEqual(shifted.linux!.uidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }]);
  t.is(statSync(path.join(dir, 'shifted/rootfs/bin/busybox')).uid, 100000);
});

test('a bundle unpacked with --uid-map runs under oci run: container root owns the bundle it reaches its rootfs through', (t) => {
  const { dir, run } = workspace(t);
  const state = stateRoot();
  t.teardown(state.remove);
  t.is(run(['pull', '--quiet', 'busybox:app']).status, 0);
  t.is(run(['unpack', '--uid-map', '0:100000:65536', '--gid-map', '0:200000:65536', 'busybox:app', 'shifted']).status, 0);
  const bundle = statSync(path.join(dir, 'shifted'));
  t.deepEqual([bundle.uid, bundle.gid, bundle.mode & 0o777], [100000, 200000, 0o700]);
  t.is(statSync(path.join(dir, 'shifted/rootfs/srv')).uid, 100001);
  // The work directory is 0700, as a home directory is: the container's root cannot pass it.
  const refused = state.oci(['run', '-b', path.join(dir, 'shifted')], { cwd: dir });
  t.is(refused.status, 1);
  t.regex(refused.stderr, /^oci: run: bind rootfs \S+ \(every directory above it must be searchable by the host uid the container's root maps to\): EACCES\n$/);
  chmodSync(dir, 0o711);
  const ran = state.oci(['run', '-b', path.join(dir, 'shifted')], { cwd: dir });
  t.is(ran.status, 0, ran.stderr);
  t.is(ran.stdout, 'hello from 1:1 groups 1 in /srv\n');
});

test('oci spec --rootless writes what runc spec --rootless does', (t) => {
  const { dir, run } = workspace(t);
  t.is(run(['spec', '--rootless']).status, 0);
  const ours = spec(dir);
  const peer = tempDir('runc-spec');
  t.teardown(peer.remove);
  const made = spawnSync('runc', ['spec', '--rootless'], { cwd: peer.dir, encoding: 'utf8' });
  t.is(made.status, 0, made.stderr);
  const runc = spec(peer.dir);
  // Our default spec is runc 1.2's, which adds a cgroup namespace to Debian's runc 1.1.
  t.deepEqual(
    ours
      .linux!.namespaces!.map((n) => n.type)
      .filter((n) => n !== 'cgroup')
      .sort(),
    runc.linux!.namespaces!.map((n) => n.type).sort(),
  );
  t.deepEqual(ours.linux!.uidMappings, runc.linux!.uidMappings);
  t.deepEqual(ours.linux!.gidMappings, runc.linux!.gidMappings);
  t.deepEqual(
    ours.mounts!.find((m) => m.destination === '/sys'),
    runc.mounts!.find((m) => m.destination === '/sys'),
  );
  t.deepEqual(ours.mounts!.find((m) => m.destination === '/dev/pts')!.options, runc.mounts!.find((m) => m.destination === '/dev/pts')!.options);
  t.is(ours.linux!.resources, undefined);
});

// Unprivileged as a user namespace makes it: uid 65534 without a capability, the host's files seen
// through its own uid (so the test runs wherever the repository is, even under a 0700 /root).
test('not root: rootless by itself (no chown, devices and capabilities skipped with a warning, modes kept)', async (t) => {
  const nobody = 65534;
  const { store, dir, run } = workspace(t);
  const layout = tempDir('layout');
  t.teardown(layout.remove);
  const image = buildImage(
    [
      await busyboxLayer(),
      await tarLayer([
        { path: 'dev/', type: 'directory' },
        { path: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
        {
          path: 'bin/ping',
          mode: 0o4755,
          content: 'ping',
          pax: { 'SCHILY.xattr.security.capability': '\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' },
        },
        { path: 'locked/', type: 'directory', mode: 0o500, uid: 1000 },
        { path: 'locked/inside', mode: 0o400, uid: 1000, content: 'written before the directory was locked' },
      ]),
    ],
    { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] } },
  );
  const locked = await tarLayer([
    { path: 'ro/', type: 'directory', mode: 0o555 },
    { path: 'ro/sub/', type: 'directory', mode: 0o500 },
    { path: 'ro/sub/file', content: 'x' },
  ]);
  const broken = buildImage([locked, Buffer.alloc(10240)], { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] } }, (tar, i) => ({
    data: i === 0 ? gzipSync(tar) : gzipSync(tar).subarray(0, 20),
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  }));
  writeLayout(layout.dir, { rootless: image, broken });
  pushLayout(layout.dir, 'rootless', `${registry.host}/library/busybox:rootless`);
  pushLayout(layout.dir, 'broken', `${registry.host}/library/busybox:broken`);
  t.is(run(['pull', '--quiet', 'busybox:rootless']).status, 0);
  t.is(run(['pull', '--quiet', 'busybox:broken']).status, 0);
  const asNobody = (args: string[]) =>
    spawnSync('unshare', ['--user', `--map-user=${nobody}`, `--map-group=${nobody}`, '--', process.execPath, ociBin, '--store', store, ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, HOME: '/nonexistent' },
    });
  const failed = asNobody(['unpack', 'busybox:broken', 'broken']);
  t.is(failed.status, 1);
  t.regex(failed.stderr, /^oci: unpack busybox:broken: layer 2: corrupt gzip data/);
  t.deepEqual(readdirSync(path.join(dir, 'broken')), [], 'the read-only directories of layer 1 were removed too');
  const result = asNobody(['unpack', 'busybox:rootless', 'b']);
  t.is(result.status, 0, result.stderr);
  t.regex(result.stderr, /^oci: warning: unpack docker\.io\/library\/busybox:rootless: skipped 1 devices \(rootless\)\n/m);
  t.regex(result.stderr, /skipped 1 xattrs \(EPERM\)/);
  const rootfs = path.join(dir, 'b/rootfs');
  t.false(existsSync(path.join(rootfs, 'dev/null')));
  t.is(statSync(path.join(rootfs, 'bin/ping')).mode & 0o7777, 0o4755);
  t.is(statSync(path.join(rootfs, 'locked')).mode & 0o7777, 0o500);
  t.is(statSync(path.join(rootfs, 'locked/inside')).uid, process.getuid!(), 'owned by the user who unpacked, not by uid 1000');
  t.true(spec(path.join(dir, 'b')).linux!.namespaces!.some((n) => n.type === 'user'));
  t.deepEqual(spec(path.join(dir, 'b')).linux!.uidMappings, [{ containerID: 0, hostID: nobody, size: 1 }]);
});
