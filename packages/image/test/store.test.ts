import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { digestOf, ImageError, MediaType, readImage, REF_NAME_ANNOTATION, Store } from '../src/index.js';

function tempStore(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('creates a valid OCI image layout', async (t) => {
  const dir = tempStore(t);
  await Store.open(dir, { create: true });
  t.deepEqual(JSON.parse(readFileSync(path.join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  t.deepEqual(JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')), { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] });
});

test('refuses a directory that is not a layout', async (t) => {
  const dir = tempStore(t);
  const error = await t.throwsAsync(Store.open(dir), { instanceOf: ImageError });
  t.is(error?.code, 'ESTORE');
});

test('a blob lands under its digest only when digest and size match', async (t) => {
  const dir = tempStore(t);
  const store = await Store.open(dir, { create: true });
  const data = Buffer.from('hello layer');
  const digest = digestOf(data);

  const wrong = await t.throwsAsync(store.writeBlob(Readable.from([data]), { digest: digestOf('other'), size: data.length }), { instanceOf: ImageError });
  t.is(wrong?.code, 'EDIGEST');
  const short = await t.throwsAsync(store.writeBlob([data], { digest, size: data.length + 1 }), { instanceOf: ImageError });
  t.regex(short!.message, /size 11, expected 12/);
  t.false(await store.hasBlob(digest));
  t.deepEqual(readdirSync(path.join(dir, 'ingest')), [], 'failed writes leave no temp files');

  t.deepEqual(await store.writeBlob([data.subarray(0, 5), data.subarray(5)], { digest, size: data.length }), { digest, size: data.length });
  t.true(await store.hasBlob(digest, data.length));
  t.false(await store.hasBlob(digest, 3));
  t.deepEqual(readFileSync(store.blobPath(digest)), data);
  const chunks: Buffer[] = [];
  for await (const chunk of await store.openBlob(digest)) chunks.push(chunk as Buffer);
  t.deepEqual(Buffer.concat(chunks), data);
});

test('reading a blob whose bytes were changed on disk fails the digest check', async (t) => {
  const store = await Store.open(tempStore(t), { create: true });
  const descriptor = await store.writeJSON({ a: 1 }, MediaType.ociConfig);
  writeFileSync(store.blobPath(descriptor.digest), '{"a":2}');
  const error = await t.throwsAsync(store.readJSON(descriptor), { instanceOf: ImageError });
  t.is(error?.code, 'EDIGEST');
});

test('a missing blob is ENOTFOUND', async (t) => {
  const store = await Store.open(tempStore(t), { create: true });
  const digest = digestOf('absent');
  t.is((await t.throwsAsync(store.openBlob(digest), { instanceOf: ImageError }))?.code, 'ENOTFOUND');
  t.is((await t.throwsAsync(store.readBlob({ digest, size: 6 }), { instanceOf: ImageError }))?.code, 'ENOTFOUND');
});

test('names images in index.json with the ref.name annotation, replacing and removing them', async (t) => {
  const dir = tempStore(t);
  const store = await Store.open(dir, { create: true });
  const one = await store.writeJSON({ n: 1 }, MediaType.ociManifest);
  const two = await store.writeJSON({ n: 2 }, MediaType.ociManifest);
  await store.setRef('docker.io/library/busybox:latest', one);
  await store.setRef('docker.io/library/alpine:3', two);
  await store.setRef('docker.io/library/busybox:latest', two);

  const refs = await store.refs();
  t.deepEqual([...refs.keys()], ['docker.io/library/alpine:3', 'docker.io/library/busybox:latest']);
  t.is(refs.get('docker.io/library/busybox:latest')?.digest, two.digest);
  const onDisk = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'));
  t.is(onDisk.manifests[1].annotations[REF_NAME_ANNOTATION], 'docker.io/library/busybox:latest');

  t.true(await store.removeRef('docker.io/library/alpine:3'));
  t.false(await store.removeRef('docker.io/library/alpine:3'));
  t.is((await t.throwsAsync(store.resolve('docker.io/library/alpine:3'), { instanceOf: ImageError }))?.code, 'ENOTFOUND');
});

test('readImage follows a name through an index to this platform\'s manifest and config', async (t) => {
  const store = await Store.open(tempStore(t), { create: true });
  const layer = await store.writeBlob([Buffer.from('layer')]);
  const config = await store.writeJSON({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }, MediaType.ociConfig);
  const manifest = await store.writeJSON(
    { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [{ mediaType: MediaType.ociLayer, ...layer }] },
    MediaType.ociManifest,
  );
  const index = await store.writeJSON(
    { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...manifest, platform: { os: 'linux', architecture: 'amd64' } }] },
    MediaType.ociIndex,
  );
  await store.setRef('multi', index);

  const image = await readImage(store, 'multi', { os: 'linux', architecture: 'amd64' });
  t.is(image.descriptor.digest, manifest.digest);
  t.deepEqual(image.config.rootfs.diff_ids, [layer.digest]);

  const error = await t.throwsAsync(readImage(store, 'multi', { os: 'linux', architecture: 'arm64' }), { instanceOf: ImageError });
  t.is(error?.code, 'EPLATFORM');
  t.is(error?.message, 'multi has no image for linux/arm64/v8; it offers linux/amd64');
});
