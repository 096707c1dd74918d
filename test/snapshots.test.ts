/**
 * Layer snapshots: each layer applied once, onto the mounted view of the layers below it, into a
 * directory keyed by its chain ID. The merged view (an overlay of the chain) must equal a full
 * unpack of the same image, file for file; a snapshot is used only once whole and verified, by
 * however many processes race to make it, whenever one is killed; gc keeps what images and
 * bundles use.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chainIds, prepareSnapshots, readImage, removeImage, SnapshotLayout, Store, unpack } from '@oci/image';
import { addUser } from '@oci/image/snapshot/users';
import { loadAddon } from '@oci/native';
import test, { type ExecutionContext } from 'ava';
import { ociBin } from './harness/cli.js';
import { type BuiltImage, buildImage, pullImage, pushLayout, type TarEntry, tarLayer, writeLayout } from './harness/images.js';
import { kitchenSink } from './harness/kitchen-sink.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { mergedTree, prepareInChild } from './harness/snapshots.js';
import { tempDir } from './harness/tmp.js';
import { snapshot, treeDiff } from './harness/tree.js';

let registry: Registry;
test.before(async () => {
  registry = await startRegistry();
});
test.after.always(async () => {
  await registry?.stop();
});

let repositories = 0;
/** Pushes the image to the registry and pulls it into a fresh store (as a user would); returns the store and name. */
async function throughRegistry(t: ExecutionContext, image: BuiltImage): Promise<{ store: Store; name: string }> {
  const layout = tempDir('layout');
  const store = tempDir('store');
  t.teardown(layout.remove);
  t.teardown(store.remove);
  writeLayout(layout.dir, { latest: image });
  const ref = `${registry.host}/snapshots/image${++repositories}:latest`;
  pushLayout(layout.dir, 'latest', ref);
  const name = pullImage(ref, store.dir);
  return { store: await Store.open(store.dir), name };
}

/** The full unpack's tree, for comparison. */
async function unpackedTree(t: ExecutionContext, store: Store, name: string) {
  const out = tempDir('unpack');
  t.teardown(out.remove);
  await unpack({ store, image: name }, path.join(out.dir, 'rootfs'));
  return snapshot(path.join(out.dir, 'rootfs'));
}

async function assertMergedEqualsUnpack(t: ExecutionContext, store: Store, name: string) {
  const prepared = await prepareSnapshots(store, await readImage(store, name));
  t.deepEqual(treeDiff(mergedTree(store, prepared), await unpackedTree(t, store, name)), []);
  return prepared;
}

const T0 = new Date('2023-05-06T07:08:09Z');
const file = (p: string, content = p, extra: Partial<TarEntry> = {}): TarEntry => ({ path: p, content, ...extra });
const dir = (p: string, extra: Partial<TarEntry> = {}): TarEntry => ({ path: p, type: 'directory', ...extra });
const symlink = (p: string, linkname: string): TarEntry => ({ path: p, type: 'symlink', linkname });

/** Layers that only make sense on top of the ones below: what applying a layer alone gets wrong. */
async function dependentLayers(): Promise<Buffer[]> {
  return [
    await tarLayer([
      dir('usr/'),
      dir('usr/lib/', { mode: 0o755 }),
      file('usr/lib/old'),
      symlink('lib', 'usr/lib'),
      symlink('abs', '/usr/lib'),
      symlink('escape', '../../../../..'),
      dir('etc/'),
      file('etc/base', 'base file', { mtime: T0, uid: 12, gid: 34, mode: 0o640 }),
      dir('data/', { mode: 0o750, uid: 5 }),
      file('data/old1'),
      dir('data/sub/'),
      file('data/sub/old2'),
      file('file-to-dir'),
      dir('dir-to-file/'),
      file('dir-to-file/child'),
      dir('dir-to-symlink/'),
      file('dir-to-symlink/child'),
      file('gone'),
      dir('gone-dir/'),
      file('gone-dir/inner'),
      file('chowned', 'chowned', { uid: 1, gid: 1 }),
    ]),
    await tarLayer([
      file('lib/through-relative-symlink'),
      file('abs/through-absolute-symlink'),
      file('escape/usr/lib/through-escaping-symlink'),
      dir('usr/', { mode: 0o711, uid: 3, gid: 4 }),
      { path: 'usr/hardlink-to-lower', type: 'link', linkname: 'etc/base' },
      file('data/.wh..wh..opq', ''),
      file('data/fresh'),
      dir('file-to-dir/', { mode: 0o700 }),
      file('file-to-dir/child'),
      file('dir-to-file', 'now a file'),
      symlink('dir-to-symlink', 'usr'),
      file('.wh.gone', ''),
      file('.wh.gone-dir', ''),
      file('chowned', 'chowned', { uid: 2, gid: 2, mode: 0o600 }),
      { path: 'dev-null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    ]),
    await tarLayer([
      file('lib/.wh.old', ''),
      { path: 'etc/second-link', type: 'link', linkname: 'usr/hardlink-to-lower' },
      dir('gone/'),
      file('gone/back-as-a-directory'),
      file('data/sub/.wh..wh..opq', ''),
      dir('data/', { mode: 0o755 }),
    ]),
  ];
}

test('the merged view equals a full unpack: every entry type and layer rule (the kitchen-sink image)', async (t) => {
  const { store, name } = await throughRegistry(t, buildImage(await kitchenSink()));
  await assertMergedEqualsUnpack(t, store, name);
});

test('the merged view equals a full unpack: layers whose entries resolve through the layers below (symlinked parents, hardlinks to lower files, opaque directories, replacements)', async (t) => {
  const { store, name } = await throughRegistry(t, buildImage(await dependentLayers()));
  const prepared = await assertMergedEqualsUnpack(t, store, name);
  const tree = mergedTree(store, prepared);
  // Spelled out, so the test stands even if unpack were wrong the same way.
  t.true('usr/lib/through-relative-symlink' in tree && 'usr/lib/through-absolute-symlink' in tree && 'usr/lib/through-escaping-symlink' in tree);
  t.false('usr/lib/old' in tree);
  t.deepEqual([tree.usr!.mode, tree.usr!.uid], ['0711', 3]);
  t.is(tree['usr/hardlink-to-lower']!.hardlinkGroup, 'etc/base');
  t.is(tree['etc/second-link']!.hardlinkGroup, 'etc/base');
  t.deepEqual(
    Object.keys(tree).filter((p) => p.startsWith('data/')),
    ['data/fresh', 'data/sub'],
    'the opaque marker of layer 3 makes data/sub again, empty',
  );
  t.is(tree.data!.mode, '0755');
  t.deepEqual([tree['file-to-dir']!.type, tree['dir-to-file']!.type, tree['dir-to-symlink']!.type], ['directory', 'file', 'symlink']);
  t.deepEqual([tree.gone!.type, 'gone-dir' in tree], ['directory', false]);
  t.deepEqual([tree.chowned!.uid, tree.chowned!.mode], [2, '0600']);
  t.is(tree['dev-null']!.rdev, (1 << 8) | 3);
});

test("snapshots hold overlayfs' own forms: a whiteout is a 0/0 character device, a directory made over a whiteout is opaque", async (t) => {
  const { store, name } = await throughRegistry(t, buildImage(await dependentLayers()));
  const image = await readImage(store, name);
  await prepareSnapshots(store, image);
  const layout = new SnapshotLayout(store.dir);
  const [, second, third] = chainIds(image.config.rootfs.diff_ids).map((id) => layout.fs(id));
  const whiteout = lstatSync(path.join(second!, 'gone'));
  t.true(whiteout.isCharacterDevice());
  t.is(whiteout.rdev, 0);
  // file-to-dir: the lower file removed (a whiteout), then a directory made in its place.
  t.is(loadAddon()!.lgetxattr(path.join(second!, 'file-to-dir'), 'trusted.overlay.opaque').toString(), 'y');
  t.true(
    lstatSync(path.join(third!, 'usr/lib/old')).isCharacterDevice() && !existsSync(path.join(third!, 'lib')),
    'a whiteout through a symlinked parent lands where the symlink leads',
  );
  t.false(existsSync(path.join(second!, 'usr/lib/old')), 'a snapshot holds its own layer only');
});

test('a second preparation applies nothing; an image that shares the lower layers shares their snapshots', async (t) => {
  const layers = await dependentLayers();
  const { store, name } = await throughRegistry(t, buildImage(layers));
  t.is((await prepareSnapshots(store, await readImage(store, name))).applied, 3);
  t.is((await prepareSnapshots(store, await readImage(store, name))).applied, 0);

  const other = buildImage([layers[0]!, layers[1]!, await tarLayer([file('other')])]);
  const layout = tempDir('layout');
  t.teardown(layout.remove);
  writeLayout(layout.dir, { other });
  const ref = `${registry.host}/snapshots/other:latest`;
  pushLayout(layout.dir, 'other', ref);
  // oci pull into a store that holds snapshots applies the new layer as it downloads.
  const otherName = pullImage(ref, store.dir);
  t.is((await prepareSnapshots(store, await readImage(store, otherName))).applied, 0);
  t.is(readdirSync(path.join(store.dir, 'snapshots', 'sha256')).length, 4);
});

test("overlayfs' own xattrs in an image are the image's attributes in the merged view, at any depth, and hide nothing", async (t) => {
  const opaque = { 'SCHILY.xattr.trusted.overlay.opaque': 'y' };
  const { store, name } = await throughRegistry(
    t,
    buildImage([
      await tarLayer([dir('kept/', { pax: opaque }), file('kept/from-layer-1')]),
      await tarLayer([
        dir('kept/', { pax: opaque }),
        file('kept/from-layer-2'),
        file('whiteout-by-xattr', 'x', { pax: { 'SCHILY.xattr.trusted.overlay.whiteout': 'y' } }),
      ]),
    ]),
  );
  const prepared = await assertMergedEqualsUnpack(t, store, name);
  const tree = mergedTree(store, prepared);
  t.true('kept/from-layer-1' in tree && 'kept/from-layer-2' in tree && 'whiteout-by-xattr' in tree);
  t.is(tree.kept!.xattrs?.['trusted.overlay.opaque'], Buffer.from('y').toString('base64'));
});

/** An image big enough that a kill lands mid-layer: three layers of a few thousand files. */
async function bulkyImage(): Promise<BuiltImage> {
  const layer = (n: number) => tarLayer(Array.from({ length: 1500 }, (_, i) => file(`l${n}/d${i % 30}/f${i}`, `${n}:${i}:`.repeat(200))));
  return buildImage([await layer(1), await layer(2), await layer(3)]);
}

test('four processes preparing one chain at once: each layer is applied once, and all succeed', async (t) => {
  const { store, name } = await throughRegistry(t, await bulkyImage());
  const children = Array.from({ length: 4 }, () => prepareInChild(store.dir, name));
  const results = await Promise.all(
    children.map(async (child) => {
      let out = '';
      child.stdout!.on('data', (chunk) => (out += chunk));
      const [status] = await once(child, 'exit');
      return { status, out };
    }),
  );
  t.deepEqual(
    results.map((r) => r.status),
    [0, 0, 0, 0],
  );
  t.is(
    results.reduce((sum, r) => sum + (JSON.parse(r.out) as { applied: number }).applied, 0),
    3,
  );
  await assertMergedEqualsUnpack(t, store, name);
});

test('kill -9 at random points of a preparation: no partial snapshot is ever used, nothing stays mounted, the next preparation works and gc clears what was left', async (t) => {
  const image = await bulkyImage();
  const { store, name } = await throughRegistry(t, image);
  const reference = await throughRegistry(t, image);
  const referenceImage = await readImage(reference.store, reference.name);
  await prepareSnapshots(reference.store, referenceImage);
  const layout = new SnapshotLayout(store.dir);
  const referenceLayout = new SnapshotLayout(reference.store.dir);
  const ids = chainIds(referenceImage.config.rootfs.diff_ids);

  for (const delay of [0, 40, 120, 250, 400, 600, 900]) {
    rmSync(layout.root, { recursive: true, force: true });
    const child = prepareInChild(store.dir, name);
    await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * 60));
    child.kill('SIGKILL');
    await once(child, 'exit');
    for (const id of ids.filter((i) => existsSync(layout.dir(i)))) {
      t.deepEqual(treeDiff(snapshot(layout.fs(id)), snapshot(referenceLayout.fs(id))), [], `after ${delay} ms: committed snapshot ${id} is whole`);
    }
  }
  t.false(readFileSync('/proc/self/mountinfo', 'utf8').includes(store.dir), 'no mount of the store is left on the host');
  await assertMergedEqualsUnpack(t, store, name);
  await store.gc();
  t.deepEqual(
    readdirSync(path.join(store.dir, 'ingest')).filter((n) => n !== 'index.json.tmp'),
    [],
    'gc removed what killed preparations left',
  );
});

test('kill -9 at random points of a gc: a snapshot is there whole or not at all, and the next gc finishes the work', async (t) => {
  const image = await bulkyImage();
  const { store, name } = await throughRegistry(t, image);
  const reference = await throughRegistry(t, image);
  await prepareSnapshots(reference.store, await readImage(reference.store, reference.name));
  const layout = new SnapshotLayout(store.dir);
  const referenceLayout = new SnapshotLayout(reference.store.dir);
  const ids = chainIds((await readImage(store, name)).config.rootfs.diff_ids);
  for (const delay of [0, 30, 80, 150, 300]) {
    await prepareSnapshots(store, await readImage(store, name));
    await removeImage(store, name);
    const child = spawn(process.execPath, [ociBin, '--store', store.dir, 'gc'], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * 40));
    child.kill('SIGKILL');
    await once(child, 'exit');
    for (const id of ids.filter((i) => existsSync(layout.dir(i)))) {
      t.deepEqual(treeDiff(snapshot(layout.fs(id)), snapshot(referenceLayout.fs(id))), [], `after ${delay} ms: snapshot ${id} is whole`);
    }
    // The image back for the next round: the blobs gc may have removed (from the reference store, the same image), then its name.
    for (const blob of readdirSync(path.join(reference.store.dir, 'blobs', 'sha256'))) {
      const to = path.join(store.dir, 'blobs', 'sha256', blob);
      if (!existsSync(to)) copyFileSync(path.join(reference.store.dir, 'blobs', 'sha256', blob), to);
    }
    await store.setRef(name, await reference.store.resolve(reference.name));
  }
  await assertMergedEqualsUnpack(t, store, name);
  await removeImage(store, name);
  await store.gc();
  t.deepEqual(
    ids.filter((id) => existsSync(layout.dir(id))),
    [],
  );
  t.false(existsSync(layout.trash), 'what killed gcs left in the trash is gone');
});

test('gc keeps the snapshots a named image reaches or a recorded bundle mounts, and removes the rest', async (t) => {
  const layers = await dependentLayers();
  const { store, name } = await throughRegistry(t, buildImage(layers));
  const image = await readImage(store, name);
  const prepared = await prepareSnapshots(store, image);
  const layout = new SnapshotLayout(store.dir);
  const ids = chainIds(image.config.rootfs.diff_ids);

  t.deepEqual((await store.gc()).snapshots, [], 'the image is named: all kept');

  // A bundle being made (recorded, no config.json yet) holds its whole chain after the name goes…
  const bundle = tempDir('bundle');
  t.teardown(bundle.remove);
  addUser(layout, bundle.dir, ids);
  await removeImage(store, name);
  t.deepEqual((await store.gc()).snapshots, []);
  // … and once made, what its config.json mounts: here the bottom two.
  const lowerdir = prepared.lower.slice(1).join(':');
  writeFileSync(
    path.join(bundle.dir, 'config.json'),
    JSON.stringify({ mounts: [{ destination: '/', type: 'overlay', source: 'overlay', options: [`lowerdir=${lowerdir}`] }] }),
  );
  const collected = await store.gc();
  t.deepEqual(collected.snapshots, [ids[2]]);
  t.true(collected.freed > 0);
  t.deepEqual(
    ids.map((id) => existsSync(layout.dir(id))),
    [true, true, false],
  );

  // Once the bundle is gone, so are its snapshots and its record.
  rmSync(bundle.dir, { recursive: true, force: true });
  t.deepEqual((await store.gc()).snapshots.sort(), [ids[0], ids[1]].sort());
  t.deepEqual(readdirSync(layout.users), []);
});
