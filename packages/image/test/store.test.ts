import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import { type Descriptor, digestOf, ImageError, MediaType, REF_NAME_ANNOTATION, readImage, Store } from '../src/index.js';

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

// Found by test/fuzz-documents.test.ts: `null` where index.json should hold a descriptor (or an
// object) was a TypeError in every command that reads names.
test('an index.json that is not an index of descriptors is ESTORE, not a TypeError', async (t) => {
  const dir = tempStore(t);
  const store = await Store.open(dir, { create: true });
  for (const content of ['null', '{"schemaVersion":2,"manifests":[null]}', '{"schemaVersion":2,"manifests":[{"annotations":null}]}']) {
    writeFileSync(path.join(dir, 'index.json'), content);
    const error = await t.throwsAsync(store.refs(), { instanceOf: ImageError }, content);
    t.is(error?.code, 'ESTORE');
  }
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

test('a blob lands even where its algorithm has no directory yet (sha512, or one removed)', async (t) => {
  const dir = tempStore(t);
  const store = await Store.open(dir, { create: true });
  rmSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const data = Buffer.from('hello layer');
  for (const algorithm of ['sha256', 'sha512'] as const) {
    const digest = digestOf(data, algorithm);
    await store.writeBlob([data], { digest, size: data.length });
    t.deepEqual(readFileSync(store.blobPath(digest)), data, algorithm);
  }
});

test('names are written even where the layout has no ingest/ directory (one another tool made)', async (t) => {
  const dir = tempStore(t);
  const store = await Store.open(dir, { create: true });
  rmSync(path.join(dir, 'ingest'), { recursive: true });
  const descriptor: Descriptor = { mediaType: MediaType.ociManifest, digest: digestOf('m'), size: 1 };
  await store.setRef('example.com/a:1', descriptor);
  t.deepEqual([...(await store.refs()).keys()], ['example.com/a:1']);
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

test("readImage follows a name through an index to this platform's manifest and config", async (t) => {
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

// Found by test/fuzz-documents.test.ts: readImage took stored documents on trust, and an index
// without manifests, a manifest that is `null` or a config that is `null` were TypeErrors in
// `oci unpack` and `oci inspect`. They are checked as pull checks what a registry serves.
test('readImage checks stored indexes, manifests and configs as pull does: EMANIFEST, not a TypeError', async (t) => {
  const store = await Store.open(tempStore(t), { create: true });
  const layer = await store.writeBlob([Buffer.from('layer')]);
  const name = async (document: unknown, mediaType: string) => store.setRef('bad', await store.writeJSON(document, mediaType));
  const manifestOf = async (config: unknown) => ({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: await store.writeJSON(config, MediaType.ociConfig),
    layers: [{ mediaType: MediaType.ociLayer, ...layer }],
  });
  const cases: [() => Promise<void>, RegExp][] = [
    [() => name({ schemaVersion: 2, mediaType: MediaType.ociIndex }, MediaType.ociIndex), /bad@sha256:\w+ is malformed: an index without a manifests list/],
    [() => name(null, MediaType.ociManifest), /is malformed: not a JSON object/],
    [async () => name(await manifestOf(null), MediaType.ociManifest), /the image config sha256:\w+ has no os and architecture/],
    [
      async () => name(await manifestOf({ os: 'linux', architecture: 'amd64', rootfs: null }), MediaType.ociManifest),
      /the config lists 0 diff_ids for 1 layers/,
    ],
  ];
  for (const [write, message] of cases) {
    await write();
    const error = await t.throwsAsync(readImage(store, 'bad'), { instanceOf: ImageError, message });
    t.is(error?.code, 'EMANIFEST');
  }
});

// Found by test/fuzz-documents.test.ts: config fields of the wrong type passed, and making the
// bundle's config.json from them was a TypeError (`"User": 5`: spec?.trim is not a function).
test('image config fields of the wrong type are EMANIFEST; the nulls Docker writes are absent fields', async (t) => {
  const store = await Store.open(tempStore(t), { create: true });
  const layer = await store.writeBlob([Buffer.from('layer')]);
  const named = async (fields: Record<string, unknown>) => {
    const config = await store.writeJSON(
      { os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [layer.digest] }, ...fields },
      MediaType.ociConfig,
    );
    await store.setRef(
      'img',
      await store.writeJSON(
        { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [{ mediaType: MediaType.ociLayer, ...layer }] },
        MediaType.ociManifest,
      ),
    );
  };
  const cases: [Record<string, unknown>, string][] = [
    [{ config: { User: 5 } }, 'config.User is not a string'],
    [{ config: { Env: 5 } }, 'config.Env is not a list of strings'],
    [{ config: { Cmd: 'sh' } }, 'config.Cmd is not a list of strings'],
    [{ config: { WorkingDir: ['/'] } }, 'config.WorkingDir is not a string'],
    [{ config: { Labels: { a: 1 } } }, 'config.Labels is not an object of strings'],
    [{ 'os.features': 'x' }, 'os.features is not a list of strings'],
    [{ rootfs: { type: 'layers', diff_ids: [''] } }, 'a diff_id is not a digest'],
  ];
  for (const [fields, why] of cases) {
    await named(fields);
    const error = await t.throwsAsync(readImage(store, 'img'), { instanceOf: ImageError });
    t.is(error?.code, 'EMANIFEST');
    t.true(error?.message.endsWith(`is malformed: ${why}`), error?.message);
  }
  await named({ config: { User: null, Env: null, Entrypoint: null, Cmd: ['sh'], Volumes: null, ExposedPorts: null, Labels: null } });
  t.deepEqual((await readImage(store, 'img')).config.config?.Cmd, ['sh']);
});

// The fuzzers' bounded-memory property: a document blob is read up to the size its descriptor
// gives, not whole; a 3 GB file under a small manifest's digest was a RangeError (over 2 GiB) after
// trying to read it all.
test('a stored document bigger than its descriptor says is EDIGEST without reading it whole', async (t) => {
  const store = await Store.open(tempStore(t), { create: true });
  const manifest = await store.writeJSON({ schemaVersion: 2, layers: [] }, MediaType.ociManifest);
  truncateSync(store.blobPath(manifest.digest), 3 * 2 ** 30); // sparse: no disk used
  const before = process.memoryUsage.rss();
  const error = await t.throwsAsync(store.readBlob(manifest), { instanceOf: ImageError });
  t.is(error?.code, 'EDIGEST');
  t.regex(error!.message, new RegExp(`size ${manifest.size + 1}, expected ${manifest.size}`));
  t.true(process.memoryUsage.rss() - before < 64 * 2 ** 20);
  const odd = await t.throwsAsync(store.readBlob({ digest: manifest.digest, size: 'x' as unknown as number }), { instanceOf: ImageError });
  t.is(odd?.code, 'EDIGEST');
});

const child = new URL('./helpers/store-child.js', import.meta.url).pathname;

function run(args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    process_.on('error', reject);
    process_.on('exit', resolve);
  });
}

/** Starts a child holding a lease on the store; resolves once it holds it. */
async function leaseHolder(dir: string): Promise<ChildProcess> {
  const holder = spawn(process.execPath, [child, dir, 'lease'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('leased') && resolve());
    holder.on('exit', () => reject(new Error('lease holder exited early')));
  });
  return holder;
}

test('concurrent processes naming images lose no update of index.json', async (t) => {
  const dir = tempStore(t);
  const store = await Store.open(dir, { create: true });
  const statuses = await Promise.all(['a', 'b', 'c', 'd'].map((prefix) => run([dir, 'refs', prefix, '15'])));
  t.deepEqual(statuses, [0, 0, 0, 0]);
  const names = [...(await store.refs()).keys()].sort();
  t.is(names.length, 60);
  t.deepEqual(names.filter((n) => n.startsWith('c-')).length, 15);
});

test('processes making the same store at once all open a whole layout', async (t) => {
  for (let round = 0; round < 10; round++) {
    const dir = path.join(tempStore(t), 'store');
    const at = String(Date.now() + 500); // all started by then: their opens meet
    t.deepEqual(await Promise.all(Array.from({ length: 6 }, () => run([dir, 'create', at]))), [0, 0, 0, 0, 0, 0]);
  }
});

test('lastPulled names the image most recently set with a pull time, not the last one named', async (t) => {
  const store = await Store.open(tempStore(t), { create: true });
  t.is(await store.lastPulled(), undefined);
  const one = await store.writeJSON({ n: 1 }, MediaType.ociManifest);
  await store.setRef('docker.io/library/alpine:3', one, { pulled: new Date('2025-01-01T00:00:00Z') });
  await store.setRef('docker.io/library/busybox:latest', one, { pulled: new Date('2025-01-02T00:00:00Z') });
  await store.setRef('local/tagged:1', one);
  t.is(await store.lastPulled(), 'docker.io/library/busybox:latest');
  await store.setRef('docker.io/library/alpine:3', one, { pulled: new Date('2025-01-03T00:00:00Z') });
  t.is(await store.lastPulled(), 'docker.io/library/alpine:3');
  await store.setRef('docker.io/library/alpine:3', one);
  t.is(await store.lastPulled(), 'docker.io/library/busybox:latest', 'renaming without a pull time drops the old one');
});

test('gc removes blobs no name reaches and keeps those that one does', async (t) => {
  const store = await Store.open(tempStore(t), { create: true });
  const layer = await store.writeBlob([Buffer.from('layer')]);
  const orphan = await store.writeBlob([Buffer.from('orphan')]);
  const config = await store.writeJSON({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }, MediaType.ociConfig);
  const manifest = await store.writeJSON({ schemaVersion: 2, config, layers: [{ mediaType: MediaType.ociLayer, ...layer }] }, MediaType.ociManifest);
  const index = await store.writeJSON({ schemaVersion: 2, manifests: [manifest] }, MediaType.ociIndex);
  await store.setRef('kept', index);

  const result = await store.gc();
  t.deepEqual(result.removed, [orphan.digest]);
  t.is(result.freed, 6);
  for (const digest of [layer.digest, config.digest, manifest.digest, index.digest]) t.true(await store.hasBlob(digest));

  await store.removeRef('kept');
  t.is((await store.gc()).removed.length, 4);
});

// Found by test/fuzz-documents.test.ts: a named document that is `null`, or whose layers list is
// a number, was a TypeError that stopped gc; what is well-formed in a damaged one is still kept.
test('gc keeps what damaged documents reach and is not stopped by them', async (t) => {
  const store = await Store.open(tempStore(t), { create: true });
  const layer = await store.writeBlob([Buffer.from('layer')]);
  const orphan = await store.writeBlob([Buffer.from('orphan')]);
  await store.setRef('null', await store.writeJSON(null, MediaType.ociManifest));
  await store.setRef(
    'odd',
    await store.writeJSON({ schemaVersion: 2, config: 'x', layers: 5, manifests: [null, 7, { ...layer, mediaType: MediaType.ociLayer }] }, MediaType.ociIndex),
  );
  t.deepEqual((await store.gc()).removed, [orphan.digest]);
  t.true(await store.hasBlob(layer.digest));
});

test('gc waits for a live writer in another process, and cleans up after one killed with SIGKILL', async (t) => {
  const dir = tempStore(t);
  const store = await Store.open(dir, { create: true });
  const holder = await leaseHolder(dir);
  t.teardown(() => holder.kill('SIGKILL'));
  t.is(readdirSync(path.join(dir, 'ingest')).length, 1, 'the lease has its ingest directory');

  let done = false;
  const collecting = store.gc().then((result) => {
    done = true;
    return result;
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.false(done, 'gc waits while the writer lives');
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  holder.kill('SIGKILL');
  await exited;
  const result = await collecting;
  t.is(result.removed.length, 1, "the dead writer's unnamed blob is collected");
  t.deepEqual(readdirSync(path.join(dir, 'ingest')), [], "the dead writer's ingest directory is gone");
  // The killed process held locks: the store still works.
  await store.setRef('after', await store.writeJSON({ after: true }, MediaType.ociManifest));
  t.deepEqual([...(await store.refs()).keys()], ['after']);
});

test('gc refuses to run inside a lease of the same Store object, which it would wait for forever', async (t) => {
  const store = await Store.open(tempStore(t), { create: true });
  await t.throwsAsync(
    store.lease(() => store.gc()),
    { message: /cannot run inside Store.lease/ },
  );
});

test('a blob written inside a lease survives a gc that runs before it is named', async (t) => {
  const store = await Store.open(tempStore(t), { create: true });
  let release!: () => void;
  const wait = new Promise<void>((resolve) => (release = resolve));
  let written!: Descriptor;
  const pulling = store.lease(async () => {
    written = await store.writeJSON({ pulled: true }, MediaType.ociManifest);
    await wait;
    await store.setRef('pulled', written);
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  // Another Store object on the same directory, as another process would have.
  const collecting = (await Store.open(store.dir)).gc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  release();
  await pulling;
  t.deepEqual((await collecting).removed, []);
  t.true(await store.hasBlob(written.digest));
});
