/**
 * Hostile and broken images: every escape we could think of, and every kind of bad layer. Each
 * runs with the kernel confining path resolution (openat2 through the addon) and without the
 * addon (the userspace walk); the host directory the attacks aim at must stay as it was.
 */

import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chainIds, type ImageConfig, ImageError, prepareSnapshots, readImage, SnapshotLayout, Store, unpack } from '@oci/image';
import { mountReadOnly } from '@oci/image/snapshot/overlay';
import { loadAddon } from '@oci/native';
import test, { type ExecutionContext } from 'ava';
import { type BuiltImage, buildImage, pullImage, pushLayout, sha256, type TarEntry, tarLayer, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
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
/** Pushes the image, pulls it into a fresh store with `oci pull`, and names it `image` there. */
async function throughRegistry(t: ExecutionContext, image: BuiltImage): Promise<Store> {
  const layout = tempDir('layout');
  const store = tempDir('store');
  t.teardown(layout.remove);
  t.teardown(store.remove);
  writeLayout(layout.dir, { latest: image });
  const ref = `${registry.host}/hostile/image${++repositories}:latest`;
  pushLayout(layout.dir, 'latest', ref);
  const name = pullImage(ref, store.dir);
  const opened = await Store.open(store.dir);
  await opened.setRef('image', await opened.resolve(name));
  return opened;
}

/** A host directory the attacks aim at: a file, a directory, a file inside it. */
function hostTarget(t: ExecutionContext) {
  const outside = tempDir('host');
  t.teardown(outside.remove);
  writeFileSync(path.join(outside.dir, 'victim'), 'original\n', { mode: 0o644 });
  rmSync(path.join(outside.dir, 'dir'), { force: true, recursive: true });
  readdirSync(outside.dir);
  return { dir: outside.dir, before: snapshot(outside.dir) };
}

const resolvers = [
  ['openat2', loadAddon()],
  ['userspace walk', null],
] as const;

interface Attack {
  name: string;
  layers: (host: string) => TarEntry[][];
  /** Without it the unpack must succeed; with it, fail with a message matching. */
  error?: RegExp;
  /** Unpack rootless (directories stay writable until the layer ends, then get their modes). */
  rootless?: boolean;
  /** Checks on the unpacked rootfs when it succeeds. */
  check?: (t: ExecutionContext, rootfs: string, host: string) => void;
}

const file = (p: string, content = 'pwned\n'): TarEntry => ({ path: p, content, mode: 0o777 });
const symlink = (p: string, linkname: string): TarEntry => ({ path: p, type: 'symlink', linkname });
const landed = (t: ExecutionContext, rootfs: string, at: string) =>
  t.is(readFileSync(path.join(rootfs, at), 'utf8'), 'pwned\n', `content lands at ${at} inside the rootfs`);

const attacks: Attack[] = [
  { name: '"../" climbing out of the root', layers: (h) => [[file(`../../../../../../..${h}/victim`)]], check: (t, r, h) => landed(t, r, `${h}/victim`) },
  { name: 'an absolute path', layers: (h) => [[file(`${h}/victim`)]], check: (t, r, h) => landed(t, r, `${h}/victim`) },
  {
    name: 'an absolute symlink as a parent',
    layers: (h) => [[symlink('evil', h), file('evil/victim'), { path: 'evil/dir/', type: 'directory', mode: 0o777 }]],
    check: (t, r, h) => landed(t, r, `${h}/victim`),
  },
  {
    name: 'a relative symlink climbing out, as a parent',
    layers: (h) => [[symlink('up', '../../../../../../../../..'), file(`up${h}/victim`)]],
    check: (t, r, h) => landed(t, r, `${h}/victim`),
  },
  {
    name: 'a symlink planted by a lower layer',
    layers: (h) => [[symlink('etc', h)], [file('etc/victim'), { path: 'etc/sub/', type: 'directory' }]],
    check: (t, r, h) => landed(t, r, `${h}/victim`),
  },
  {
    name: 'a chain of symlinks',
    layers: (h) => [[symlink('a', '/b'), symlink('b', `../../..${h}`), file('a/victim')]],
    check: (t, r, h) => landed(t, r, `${h}/victim`),
  },
  {
    name: 'a symlink for "." as a parent',
    layers: (h) => [[symlink('dot', '.'), file(`dot/dot/dot/../../..${h}/victim`)]],
    check: (t, r, h) => landed(t, r, `${h}/victim`),
  },
  {
    name: 'a hardlink climbing out',
    layers: (h) => [[{ path: 'h', type: 'link', linkname: `../../../../../..${h}/victim` }]],
    error: /hardlink to .*victim, which does not exist/,
  },
  {
    name: 'a hardlink through a symlinked directory',
    layers: (h) => [[symlink('s', h), { path: 'h', type: 'link', linkname: 's/victim' }]],
    error: /hardlink to \/s\/victim, which does not exist/,
  },
  {
    name: 'a hardlink to a symlink that points out, then written through',
    layers: (h) => [
      [symlink('l', `${h}/victim`), { path: 'h', type: 'link', linkname: 'l' }],
      [file('h'), file('l')],
    ],
    check: (t, r) => {
      landed(t, r, 'h');
      landed(t, r, 'l');
    },
  },
  {
    name: 'a whiteout through a symlinked directory',
    layers: (h) => [[symlink('w', h)], [file('w/.wh.victim', '')]],
    check: (t, r, h) => t.is(lstatSync(path.join(r, 'w')).isSymbolicLink() && readdirSync(path.join(r, h === '' ? '.' : '.')).includes('w'), true),
  },
  { name: 'an opaque whiteout through a symlinked directory', layers: (h) => [[symlink('o', h)], [file('o/.wh..wh..opq', '')]] },
  { name: 'a whiteout that climbs out', layers: (h) => [[file(`../../../..${h}/.wh.victim`, '')]] },
  {
    name: 'a directory entry over a symlink to a host directory',
    layers: (h) => [[symlink('m', h), { path: 'm/', type: 'directory', mode: 0o777, uid: 4242 }]],
    check: (t, r) => t.true(lstatSync(path.join(r, 'm')).isDirectory()),
  },
  {
    name: 'rootless: a directory replaced by a symlink to a host file later in the same layer (directory modes are set at the end)',
    layers: (h) => [[{ path: 'late/', type: 'directory', mode: 0o700, mtime: new Date(0) }, symlink('late', `${h}/victim`)]],
    rootless: true,
    check: (t, r, h) => t.is(readlinkSync(path.join(r, 'late')), `${h}/victim`),
  },
  { name: 'the root entry as a symlink', layers: (h) => [[symlink('./', h)]], error: /root of the layer is a symlink/ },
  { name: 'a symlink loop as a parent', layers: () => [[symlink('a', 'b'), symlink('b', 'a'), file('a/x')]], error: /too many levels of symlinks/ },
  { name: 'a bare .wh.', layers: () => [[file('dir/.wh.', '')]], error: /invalid whiteout '\.wh\.'/ },
  { name: 'a whiteout of ".."', layers: () => [[file('dir/.wh...', '')]], error: /invalid whiteout/ },
];

for (const attack of attacks) {
  test(`containment: ${attack.name}`, async (t) => {
    const host = hostTarget(t);
    const store = await throughRegistry(t, buildImage(await Promise.all(attack.layers(host.dir).map((entries) => tarLayer(entries)))));
    for (const [resolver, addon] of resolvers) {
      const out = tempDir('out');
      t.teardown(out.remove);
      const rootfs = path.join(out.dir, 'rootfs');
      const run = unpack({ store, image: 'image' }, rootfs, { addon, rootless: attack.rootless ?? false });
      if (attack.error) {
        const error = await t.throwsAsync(run, { instanceOf: ImageError }, resolver);
        t.regex(error!.message, attack.error, resolver);
        t.deepEqual(readdirSync(out.dir), [], `${resolver}: nothing left behind`);
      } else {
        await t.notThrowsAsync(run, resolver);
        attack.check?.(t, rootfs, host.dir);
      }
      t.deepEqual(snapshot(host.dir), host.before, `${resolver}: the host directory is untouched`);
    }
    await throughSnapshots(t, store, attack, host);
  });
}

/** The same attack through layer snapshots (each layer applied onto an overlay of the ones below). */
async function throughSnapshots(t: ExecutionContext, store: Store, attack: Attack, host: ReturnType<typeof hostTarget>) {
  const image = await readImage(store, 'image');
  const run = prepareSnapshots(store, image);
  if (attack.error) {
    const error = await t.throwsAsync(run, { instanceOf: ImageError }, 'snapshots');
    t.regex(error!.message, attack.error, 'snapshots');
    const layout = new SnapshotLayout(store.dir);
    const failed = chainIds(image.config.rootfs.diff_ids).at(-1)!;
    t.false(existsSync(layout.dir(failed)), 'snapshots: the failing layer committed nothing');
    t.deepEqual(
      readdirSync(path.join(store.dir, 'ingest')).filter((n) => n !== 'index.json.tmp'),
      [],
      'snapshots: nothing left behind',
    );
  } else {
    const view = mountReadOnly(loadAddon()!, (await run).lower, new SnapshotLayout(store.dir));
    const out = tempDir('out');
    t.teardown(out.remove);
    await unpack({ store, image: 'image' }, path.join(out.dir, 'rootfs'), { rootless: false });
    try {
      t.deepEqual(treeDiff(snapshot(view.root), snapshot(path.join(out.dir, 'rootfs'))), [], 'snapshots: the merged view is the full unpack');
    } finally {
      view.close();
    }
  }
  t.deepEqual(snapshot(host.dir), host.before, 'snapshots: the host directory is untouched');
}

/** An image whose layer 2 (of 2) is `layer`, stored as `mediaType`, with `diffId` claimed. */
async function brokenImage(
  layer: Buffer,
  { mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip', diffId }: { mediaType?: string; diffId?: string } = {},
): Promise<BuiltImage> {
  const good = await tarLayer([file('ok')]);
  const image = buildImage([good, await tarLayer([])], { architecture: 'amd64', os: 'linux' }, (tar, i) =>
    i === 0 ? { data: gzipSync(tar), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' } : { data: layer, mediaType },
  );
  if (diffId) {
    // Rewrite config and manifest around the claimed diff_id.
    const config: ImageConfig = { ...image.config, rootfs: { type: 'layers', diff_ids: [image.config.rootfs.diff_ids[0]!, diffId] } };
    return rebuild(image, config);
  }
  return image;
}

function rebuild(image: BuiltImage, config: ImageConfig): BuiltImage {
  const manifest = JSON.parse(image.blobs.get(image.manifest.digest)!.toString());
  const configData = Buffer.from(JSON.stringify(config));
  manifest.config = { ...manifest.config, digest: sha256(configData), size: configData.length };
  const manifestData = Buffer.from(JSON.stringify(manifest));
  const blobs = new Map([...image.blobs].filter(([d]) => d !== image.manifest.digest && d !== manifest.config.digest));
  blobs.set(sha256(configData), configData);
  blobs.set(sha256(manifestData), manifestData);
  return { manifest: { ...image.manifest, digest: sha256(manifestData), size: manifestData.length }, config, blobs };
}

async function expectFailure(t: ExecutionContext, store: Store, pattern: RegExp, code: ImageError['code'] = 'ELAYER') {
  const out = tempDir('out');
  t.teardown(out.remove);
  const error = await t.throwsAsync(unpack({ store, image: 'image' }, path.join(out.dir, 'rootfs')), { instanceOf: ImageError });
  t.is(error!.code, code, error!.message);
  t.regex(error!.message, pattern);
  t.deepEqual(readdirSync(out.dir), [], 'no rootfs, no partial directory');
  await snapshotsRefuse(t, store, pattern, code);
}

/** Preparing snapshots of the image fails the same way, committing nothing from the bad layer on. */
async function snapshotsRefuse(t: ExecutionContext, store: Store, pattern: RegExp, code: ImageError['code']) {
  const image = await readImage(store, 'image');
  const error = await t.throwsAsync(prepareSnapshots(store, image), { instanceOf: ImageError }, 'snapshots');
  t.is(error!.code, code, `snapshots: ${error!.message}`);
  t.regex(error!.message, pattern, 'snapshots');
  const layout = new SnapshotLayout(store.dir);
  const bad = Number(/^layer (\d+):/.exec(error!.message)?.[1] ?? 1) - 1;
  t.deepEqual(
    chainIds(image.config.rootfs.diff_ids)
      .slice(bad)
      .filter((id) => existsSync(layout.dir(id))),
    [],
    'snapshots: nothing committed from the bad layer on',
  );
  t.deepEqual(
    readdirSync(path.join(store.dir, 'ingest')).filter((n) => n !== 'index.json.tmp'),
    [],
    'snapshots: nothing left behind',
  );
}

const payload = () => tarLayer([file('a', 'x'.repeat(200000)), file('b', 'y'.repeat(5000))]);

test('bad input: a corrupt gzip layer', async (t) => {
  const gz = gzipSync(await payload());
  for (let i = 100; i < 140; i++) gz[i] ^= 0x5a;
  await expectFailure(t, await throughRegistry(t, await brokenImage(gz)), /^layer 2: corrupt gzip data/);
});

test('bad input: a truncated gzip stream', async (t) => {
  const gz = gzipSync(await payload());
  await expectFailure(
    t,
    await throughRegistry(t, await brokenImage(gz.subarray(0, gz.length - 200))),
    /^layer 2: corrupt gzip data \(unexpected end of file\)/,
  );
});

test('bad input: a tar cut off inside an entry', async (t) => {
  const tar = await payload();
  await expectFailure(t, await throughRegistry(t, await brokenImage(gzipSync(tar.subarray(0, 100000)))), /^layer 2: truncated tar archive \(in a\)/);
});

test('bad input: data that is not a tar', async (t) => {
  await expectFailure(
    t,
    await throughRegistry(t, await brokenImage(gzipSync(Buffer.alloc(4096, 'not a tar archive ')))),
    /^layer 2: invalid tar header checksum/,
  );
});

test('bad input: a diff_id mismatch', async (t) => {
  const tar = await payload();
  await expectFailure(
    t,
    await throughRegistry(t, await brokenImage(gzipSync(tar), { diffId: sha256('something else') })),
    /^layer 2: diff_id mismatch: the uncompressed layer is sha256:[0-9a-f]{64}, the image config says sha256:/,
  );
});

// Written to the store directly: a registry client on the way (skopeo) would re-label the layer.
test('bad input: a media type that disagrees with the bytes', async (t) => {
  const tar = await payload();
  for (const [data, mediaType, pattern] of [
    [tar, 'application/vnd.oci.image.layer.v1.tar+gzip', /^layer 2: the media type says gzip but the data is an uncompressed tar/],
    [gzipSync(tar), 'application/vnd.oci.image.layer.v1.tar+zstd', /^layer 2: the media type says zstd but the data is gzip/],
    [gzipSync(tar), 'application/vnd.oci.image.layer.v1.tar', /^layer 2: the media type says an uncompressed tar but the data is gzip/],
  ] as const) {
    const layout = tempDir('layout');
    t.teardown(layout.remove);
    writeLayout(layout.dir, { image: await brokenImage(data, { mediaType, diffId: sha256(tar) }) });
    await expectFailure(t, await Store.open(layout.dir), pattern);
  }
});

test('bad input: an unknown layer media type', async (t) => {
  const layout = tempDir('layout');
  t.teardown(layout.remove);
  writeLayout(layout.dir, { image: await brokenImage(gzipSync(await payload()), { mediaType: 'application/vnd.example.layer.v1.tar+lz4' }) });
  await expectFailure(t, await Store.open(layout.dir), /^layer 2: unknown layer media type application\/vnd\.example\.layer\.v1\.tar\+lz4/, 'EMEDIATYPE');
});

test('bad input: a layer blob missing from the store', async (t) => {
  const image = await brokenImage(gzipSync(await payload()));
  const store = await throughRegistry(t, image);
  const manifest = JSON.parse(image.blobs.get(image.manifest.digest)!.toString());
  rmSync(store.blobPath(manifest.layers[1].digest));
  await expectFailure(t, store, /^layer 2: blob sha256:[0-9a-f]{64} is missing from the store/, 'ENOTFOUND');
});

test('bad input: a corrupt first layer while the next ones are already inflating', async (t) => {
  const gz = gzipSync(await payload());
  for (let i = 100; i < 140; i++) gz[i] ^= 0x5a;
  const big = gzipSync(await tarLayer([file('big', 'z'.repeat(8 << 20))]));
  const image = buildImage([Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)], { architecture: 'amd64', os: 'linux' }, (_tar, i) => ({
    data: i === 0 ? gz : big,
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  }));
  await expectFailure(t, await throughRegistry(t, image), /^layer 1: corrupt gzip data/);
});
