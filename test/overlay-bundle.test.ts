/**
 * `oci unpack --overlay`: a bundle whose rootfs is an overlay of the store's layer snapshots,
 * mounted by the runtime inside the container (config.json's first mount), never on the host.
 * Run by Debian's runc (the peer) and by `oci run`; writes land in the bundle's own upper
 * directory; `rm -rf BUNDLE` is all its removal takes, and gc then frees what nothing uses.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Spec } from '@oci/bundle';
import { LockNames, tryLock } from '@oci/image/internal/store/lock';
import test, { type ExecutionContext } from 'ava';
import { busyboxImage, busyboxLayer } from './harness/busybox.js';
import { HANDED_TO_NODE, oci } from './harness/cli.js';
import { buildImage, pushLayout, tarLayer, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { runcRun } from './harness/runc.js';
import { tempDir } from './harness/tmp.js';
import { largeImage } from './harness/unpack-images.js';

let registry: Registry;
test.before(async () => {
  registry = await startRegistry();
  const busybox = await busyboxLayer();
  const layout = tempDir('layout');
  writeLayout(layout.dir, {
    latest: await busyboxImage(),
    layered: buildImage(
      [
        busybox,
        await tarLayer([
          { path: 'etc/hostname', content: 'second layer\n' },
          { path: 'srv/', type: 'directory' },
          { path: 'srv/data', content: 'layer 2' },
        ]),
        await tarLayer([
          { path: 'srv/.wh.data', content: '' },
          { path: 'bin/.wh.vi', content: '' },
        ]),
      ],
      { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'], Env: ['PATH=/bin'] } },
    ),
    stranger: buildImage([busybox], { architecture: 'amd64', os: 'linux', config: { Cmd: ['true'], User: 'stranger' } }),
    volume: buildImage([busybox], { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'], Env: ['PATH=/bin'], Volumes: { '/data': {} } } }),
    large: await largeImage(),
  });
  for (const name of ['latest', 'layered', 'large', 'stranger', 'volume']) pushLayout(layout.dir, name, `${registry.host}/library/busybox:${name}`);
  layout.remove();
});
test.after.always(async () => {
  await registry?.stop();
});

const env = () => ({ ...process.env, OCI_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, HOME: '/nonexistent' });
const spec = (bundle: string) => JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) as Spec;

function workspace(t: ExecutionContext, storeDir?: string) {
  const store = storeDir ?? tempDir('store').dir;
  const work = tempDir('work');
  if (!storeDir) t.teardown(() => rmSync(store, { recursive: true, force: true }));
  t.teardown(work.remove);
  const run = (args: string[], cwd = work.dir) => oci(['--store', store, ...args], { cwd, env: env() });
  /** Served by the front door alone (it exits 125 where it would hand the call to Node), or by Node alone. */
  const only = (by: 'front door' | 'Node', args: string[]) =>
    oci(['--store', store, ...args], { cwd: work.dir, env: { ...env(), [by === 'Node' ? 'OCI_NODE_ONLY' : 'OCI_NATIVE_ONLY']: '1' } });
  return { store, dir: work.dir, run, only };
}

/** The bundles that user records name (snapshots/users), with the chains they hold. */
const recorded = (store: string) =>
  new Map(
    readdirSync(path.join(store, 'snapshots', 'users')).map((name) => {
      const record = JSON.parse(readFileSync(path.join(store, 'snapshots', 'users', name), 'utf8')) as { bundle: string; chains: string[] };
      return [record.bundle, record.chains];
    }),
  );

/** Mount points on the host that lie under `dir`. */
const hostMountsUnder = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => line.includes(dir));

test('an overlay bundle runs under runc 1.1.5 and under oci run: the image as unpacked, writes in BUNDLE/upper, the snapshots untouched, nothing mounted on the host', (t) => {
  const { store, dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox:layered']).status, 0);
  for (const name of ['for-runc', 'for-oci']) {
    const made = run(['unpack', '--overlay', 'busybox:layered', name]);
    t.is(made.status, 0, made.stderr);
    t.is(made.stderr, '');
    t.deepEqual(readdirSync(path.join(dir, name)).sort(), ['config.json', 'rootfs', 'upper', 'work']);
    t.deepEqual(readdirSync(path.join(dir, name, 'rootfs')), [], 'the rootfs is only a mount point on the host');
    t.is(spec(path.join(dir, name)).mounts![0]!.type, 'overlay');
  }
  const script = ['sh', '-c', 'cat /etc/hostname; ls /srv; test -e /bin/vi || echo no vi; echo written > /new; echo $HOME'];
  for (const name of ['for-runc', 'for-oci']) {
    const config = spec(path.join(dir, name));
    config.process!.args = script;
    writeFileSync(path.join(dir, name, 'config.json'), JSON.stringify(config));
  }
  const expected = 'second layer\nno vi\n/root\n';
  const byRunc = runcRun(path.join(dir, 'for-runc'));
  t.is(byRunc.status, 0, byRunc.stderr);
  t.is(byRunc.stdout, expected);
  const state = tempDir('state');
  t.teardown(state.remove);
  const byOci = oci(['--root', state.dir, 'run', '--bundle', path.join(dir, 'for-oci'), 'overlay-test'], { input: '', env: env() });
  t.is(byOci.status, 0, byOci.stderr);
  t.is(byOci.stdout, expected);

  for (const name of ['for-runc', 'for-oci']) {
    t.is(readFileSync(path.join(dir, name, 'upper', 'new'), 'utf8'), 'written\n', `${name}: the write is in the bundle's upper`);
    t.deepEqual(readdirSync(path.join(dir, name, 'rootfs')), []);
  }
  const snapshots = path.join(store, 'snapshots', 'sha256');
  for (const id of readdirSync(snapshots)) t.false(existsSync(path.join(snapshots, id, 'fs', 'new')), 'no snapshot took the write');
  t.deepEqual(hostMountsUnder(dir), [], 'no overlay stays mounted on the host');
  t.deepEqual(hostMountsUnder(store), []);
});

test('rm -rf BUNDLE removes an overlay bundle; gc keeps its snapshots until then, even once the image is removed', (t) => {
  const { store, dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox:layered']).status, 0);
  t.is(run(['unpack', '--overlay', 'busybox:layered', 'b']).status, 0);
  const listed = JSON.parse(run(['snapshots', '--format', 'json']).stdout) as { images: string[]; bundles: string[]; size: number }[];
  t.is(listed.length, 3);
  for (const snapshot of listed) {
    t.deepEqual(snapshot.images, ['docker.io/library/busybox:layered']);
    t.deepEqual(snapshot.bundles, [path.join(dir, 'b')]);
  }
  t.true(listed.every((snapshot) => snapshot.size > 0));
  t.regex(run(['snapshots']).stdout, /\n3 snapshots, [\d.]+ [kM]B on disk\n$/);
  t.is(run(['rmi', 'busybox:layered']).status, 0);
  t.regex(run(['gc']).stdout, /^removed 5 blobs and 0 snapshots, [\d.]+ MB\n$/);
  t.is(readdirSync(path.join(store, 'snapshots', 'sha256')).length, 3, 'the bundle keeps its three snapshots');
  const ran = oci(['--root', tempDir('state').dir, 'run', '--bundle', path.join(dir, 'b'), 'after-rmi'], { input: '', env: env() });
  t.is(ran.status, 0, ran.stderr);
  rmSync(path.join(dir, 'b'), { recursive: true });
  t.regex(run(['gc']).stdout, /^removed 0 blobs and 3 snapshots, [\d.]+ MB\n$/);
  t.deepEqual(readdirSync(path.join(store, 'snapshots', 'sha256')), []);
});

test('a second overlay bundle of an image applies no layer; one that is there is replaced only with --force', (t) => {
  const { store, dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox']).status, 0);
  t.is(run(['unpack', '--overlay', 'busybox', 'one']).status, 0);
  const before = statSync(path.join(store, 'snapshots', 'sha256', readdirSync(path.join(store, 'snapshots', 'sha256'))[0]!)).mtimeMs;
  const second = run(['--debug', 'unpack', '--overlay', 'busybox', 'two']);
  t.is(second.status, 0, second.stderr);
  t.regex(second.stderr, /as an overlay of its snapshots/);
  t.is(
    statSync(path.join(store, 'snapshots', 'sha256', readdirSync(path.join(store, 'snapshots', 'sha256'))[0]!)).mtimeMs,
    before,
    'the snapshot was reused as it was',
  );
  const again = run(['unpack', '--overlay', 'busybox', 'one']);
  t.is(again.status, 1);
  t.regex(again.stderr, /^oci: unpack busybox: .*one already holds a bundle: use --force to replace it\n$/);
  t.is(run(['unpack', '--overlay', '--force', 'busybox', 'one']).status, 0);
  t.is(run(['unpack', '--force', 'busybox', 'two']).status, 0, 'an overlay bundle can be replaced by a full copy');
  t.true(statSync(path.join(dir, 'two', 'rootfs', 'bin', 'busybox')).isFile());
  t.deepEqual(readdirSync(path.join(dir, 'two')).sort(), ['config.json', 'rootfs']);
});

test("a second overlay bundle of an image loads none of Node's crypto, net or fs/promises modules: what a command loads is what it costs to start", (t) => {
  const { store, dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox']).status, 0);
  t.is(run(['unpack', '--overlay', 'busybox', 'one']).status, 0);
  const loaded = path.join(dir, 'loaded.txt');
  const preload = path.join(dir, 'preload.cjs');
  writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loaded)}, process.moduleLoadList.join('\\n')));\n`);
  // Through Node: the front door would make it from the first's recipe without starting Node at all.
  const second = oci(['--store', store, 'unpack', '--overlay', 'busybox', 'two'], {
    cwd: dir,
    env: { ...env(), OCI_NODE_ONLY: '1', NODE_OPTIONS: `--require ${preload}` },
  });
  t.is(second.status, 0, second.stderr);
  const modules = readFileSync(loaded, 'utf8').split('\n');
  t.true(modules.includes('NativeModule fs'), 'the list was written');
  for (const module of ['crypto', 'net', 'fs/promises', 'child_process']) t.false(modules.includes(`NativeModule ${module}`), module);
});

test('a full disk while preparing a snapshot: one line, non-zero, nothing committed', (t) => {
  const disk = tempDir('tmpfs');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', disk.dir], { encoding: 'utf8' });
  t.teardown(() => {
    spawnSync('umount', [disk.dir]);
    disk.remove();
  });
  t.is(mounted.status, 0, `mounting a small tmpfs needs root: ${mounted.stderr}`);
  const { store, run } = workspace(t, path.join(disk.dir, 'store'));
  t.is(run(['pull', '--quiet', 'busybox:large']).status, 0);
  const full = run(['unpack', '--overlay', 'busybox:large', 'b']);
  t.is(full.status, 1);
  t.regex(full.stderr, /^oci: unpack busybox:large: layer 1: data: ENOSPC: no space left on device, write\n$/);
  t.false(existsSync(path.join(store, 'snapshots', 'sha256')), 'no snapshot committed');
  t.deepEqual(
    readdirSync(path.join(store, 'ingest')).filter((name) => name !== 'index.json.tmp'),
    [],
    'nothing left in ingest/',
  );
});

test('--overlay with --uid-map is refused: shifted ids need a full copy', (t) => {
  const { run } = workspace(t);
  const result = run(['unpack', '--overlay', '--uid-map', '0:100000:65536', 'busybox', 'b']);
  t.is(result.status, 2);
  t.regex(result.stderr, /--overlay cannot shift ids/);
});

test('an overlay bundle that cannot be made (an unknown user) leaves no half-made writable layer, nor a record holding its snapshots', (t) => {
  const { store, dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox:stranger']).status, 0);
  const result = run(['unpack', '--overlay', 'busybox:stranger', 'b']);
  t.is(result.status, 1);
  t.regex(result.stderr, /^oci: unpack busybox:stranger: unknown user 'stranger'/);
  t.deepEqual(readdirSync(path.join(dir, 'b')), []);
  t.deepEqual(readdirSync(path.join(store, 'snapshots', 'users')), []);
});

test('the front door makes the next overlay bundle of a REF from the recipe the last one left: the config.json, writable layer, volumes and record Node makes', (t) => {
  const { store, dir, run, only } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox:volume']).status, 0);
  const first = only('Node', ['unpack', '--overlay', 'busybox:volume', 'first']);
  t.is(first.status, 0, first.stderr);
  t.true(existsSync(path.join(store, 'snapshots', 'recipes', 'busybox%3Avolume')), 'the first left a recipe');
  const byFrontDoor = only('front door', ['unpack', '--overlay', 'busybox:volume', 'by-front-door']);
  t.is(byFrontDoor.status, 0, byFrontDoor.stderr);
  t.is(byFrontDoor.stdout + byFrontDoor.stderr, '', 'as Node, it says nothing');
  t.is(only('Node', ['unpack', '--overlay', 'busybox:volume', 'by-node']).status, 0);

  const [native, node] = ['by-front-door', 'by-node'].map((name) => path.join(dir, name)) as [string, string];
  const config = (bundle: string) => readFileSync(path.join(bundle, 'config.json'), 'utf8').replaceAll(bundle, 'BUNDLE');
  t.is(config(native), config(node), 'config.json byte for byte, but for the bundle directory');
  t.true(config(native).includes('"upperdir=BUNDLE/upper"'));
  for (const name of ['.', 'config.json', 'rootfs', 'upper', 'work', 'volumes', ...readdirSync(path.join(node, 'volumes')).map((v) => `volumes/${v}`)]) {
    const [a, b] = [native, node].map((bundle) => statSync(path.join(bundle, name)));
    t.deepEqual([a!.mode, a!.uid, a!.gid], [b!.mode, b!.uid, b!.gid], name);
  }
  t.deepEqual(readdirSync(native).sort(), readdirSync(node).sort());
  t.deepEqual(readdirSync(path.join(native, 'volumes')), readdirSync(path.join(node, 'volumes')));
  t.is(readdirSync(path.join(node, 'volumes')).length, 1, "the image's volume");
  // The merged root is the topmost snapshot's (the first lowerdir). The front door copies its
  // times to the nanosecond; Node's copy goes through a Date (ms) and a float of seconds.
  const lowerdir = spec(node).mounts![0]!.options!.find((option) => option.startsWith('lowerdir='))!;
  const mergedRoot = statSync(lowerdir.slice('lowerdir='.length).split(':')[0]!, { bigint: true });
  t.is(statSync(path.join(native, 'upper'), { bigint: true }).mtimeNs, mergedRoot.mtimeNs, "the upper's root has the merged root's times");
  t.true(Math.abs(statSync(path.join(node, 'upper')).mtimeMs - Number(mergedRoot.mtimeMs)) < 2, 'as through Node, to the millisecond');
  const records = recorded(store);
  t.deepEqual(records.get(native), records.get(node), 'a record holds its snapshots');
  t.is(records.get(native)?.length, 1, "the image's one layer");

  const state = tempDir('state');
  t.teardown(state.remove);
  const edited = spec(native);
  edited.process!.args = ['sh', '-c', 'echo kept > /data/file && echo ran'];
  writeFileSync(path.join(native, 'config.json'), JSON.stringify(edited));
  const ran = oci(['--root', state.dir, 'run', '--bundle', native, 'from-recipe'], { input: '', env: env() });
  t.is(ran.status, 0, ran.stderr);
  t.is(ran.stdout, 'ran\n');
  t.is(readFileSync(path.join(native, 'volumes', readdirSync(path.join(native, 'volumes'))[0]!, 'file'), 'utf8'), 'kept\n');
});

test('the front door leaves to Node, before changing anything, a recipe of another index.json or other code, snapshots gone, a directory holding a bundle or locked by another unpack; gc clears recipes', async (t) => {
  const { store, dir, run, only } = workspace(t);
  const recipe = path.join(store, 'snapshots', 'recipes', 'busybox');
  const handedOff = (bundle: string) => {
    const result = only('front door', ['unpack', '--overlay', 'busybox', bundle]);
    t.is(result.status, 125, result.stderr);
    t.regex(result.stderr, HANDED_TO_NODE);
  };
  const nothingMade = (bundle: string) => {
    handedOff(bundle);
    t.false(
      ['config.json', 'rootfs', 'upper', 'work'].some((name) => existsSync(path.join(dir, bundle, name))),
      `${bundle}: nothing made`,
    );
    t.false(recorded(store).has(path.join(dir, bundle)), `${bundle}: no record`);
  };
  t.is(run(['pull', '--quiet', 'busybox']).status, 0);
  t.is(run(['unpack', '--overlay', 'busybox', 'one']).status, 0);
  t.is(only('front door', ['unpack', '--overlay', 'busybox', 'two']).status, 0);

  const config = readFileSync(path.join(dir, 'two', 'config.json'));
  handedOff('two');
  t.deepEqual(readFileSync(path.join(dir, 'two', 'config.json')), config, 'the bundle there is untouched');

  // Another index.json: REF may name another image now.
  t.is(run(['pull', '--quiet', 'busybox:layered']).status, 0);
  nothingMade('three');
  t.is(run(['unpack', '--overlay', 'busybox', 'three']).status, 0, 'Node makes it, and a recipe again');
  t.is(only('front door', ['unpack', '--overlay', 'busybox', 'four']).status, 0);

  // Other code: what it would write may differ.
  const text = readFileSync(recipe, 'utf8');
  writeFileSync(recipe, text.replace(/"code":"[0-9a-f]{64}"/, `"code":"${'0'.repeat(64)}"`));
  nothingMade('five');
  writeFileSync(recipe, text);

  // A snapshot gone (another gc's trash): Node applies its layer again.
  const snapshots = path.join(store, 'snapshots', 'sha256');
  const snapshot = (JSON.parse(text.split('\n')[0]!) as { chains: string[] }).chains[0]!.slice('sha256:'.length);
  const aside = path.join(store, 'aside');
  renameSync(path.join(snapshots, snapshot), aside);
  nothingMade('six');
  rmSync(aside, { recursive: true });
  const again = run(['unpack', '--overlay', 'busybox', 'six']);
  t.is(again.status, 0, again.stderr);
  t.true(existsSync(path.join(snapshots, snapshot)), 'prepared again');

  // A bundle directory another unpack works in: the front door binds the same lock as Node.
  const busy = path.join(dir, 'seven');
  mkdirSync(busy);
  const lock = await tryLock((await LockNames.of(busy, 'bundle')).name('unpack'));
  t.truthy(lock);
  nothingMade('seven');
  await lock!.release();
  t.is(only('front door', ['unpack', '--overlay', 'busybox', 'seven']).status, 0);

  t.is(run(['gc']).status, 0);
  t.false(existsSync(path.join(store, 'snapshots', 'recipes')), 'gc removed the recipes');
  nothingMade('eight');
});
