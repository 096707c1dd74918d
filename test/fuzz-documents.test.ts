/**
 * Fuzzing the image-spec documents: manifests and indexes as a registry serves them
 * (parseManifest, then the platform choice pull makes), and whole images in a store written by
 * someone else (index.json, index, manifest and config blobs, each a variation of a valid one)
 * as `oci unpack`, `oci images` and `oci gc` read them, down to the runtime config made from the
 * image config. Properties: only the libraries' typed errors (ImageError, BundleError), no input
 * is slow, memory stays bounded. See harness/fuzz.ts for seeds and longer runs.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BundleError, specFromImage } from '@oci/bundle';
import { digestOf, hostPlatform, ImageError, listImages, MediaType, readImage, Store, selectPlatform } from '@oci/image';
import { parseManifest } from '@oci/image/documents';
import test from 'ava';
import fc from 'fast-check';
import { bounded, boundedAsync, expectTyped, fuzzParameters, MEMORY_GROWTH_MB, mutatedJSON, peakRssMB } from './harness/fuzz.js';
import { tempDir } from './harness/tmp.js';

const IMAGE_ERRORS = ['EDIGEST', 'ENOTFOUND', 'EMEDIATYPE', 'EMANIFEST', 'ESTORE', 'EPLATFORM'];
const DIFF_ID = digestOf('layer');

const configTemplate = {
  created: '2024-01-01T00:00:00Z',
  architecture: hostPlatform().architecture,
  os: 'linux',
  config: {
    User: '1000:1000',
    Env: ['PATH=/usr/bin:/bin', 'A=1'],
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ['echo hi'],
    WorkingDir: '/work',
    Volumes: { '/data': {} },
    ExposedPorts: { '80/tcp': {} },
    Labels: { a: 'b' },
    StopSignal: 'SIGTERM',
  },
  rootfs: { type: 'layers', diff_ids: [DIFF_ID] },
  history: [{ created: '2024-01-01T00:00:00Z', created_by: 'sh' }],
};

const descriptor = (mediaType: string, text: string) => ({ mediaType, digest: digestOf(text), size: Buffer.byteLength(text) });
const manifestTemplate = (config: string) => ({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: descriptor(MediaType.ociConfig, config),
  layers: [descriptor(MediaType.ociLayerGzip, 'layer')],
  annotations: { 'org.example': 'x' },
});
const indexTemplate = (manifest: string) => ({
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: [
    { ...descriptor(MediaType.ociManifest, manifest), platform: { ...hostPlatform(), 'os.features': ['x'] } },
    { ...descriptor(MediaType.ociManifest, manifest), platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
  ],
});

/** JSON text of a value, or now and then text that is not quite JSON (text: readable counterexamples). */
function serialised(value: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 20, arbitrary: value.map((v) => JSON.stringify(v) ?? 'undefined') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.nat({ max: 20000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)) },
  );
}

/** An image as a chain of variations: a config, a manifest naming it, maybe an index naming that. */
const image = serialised(mutatedJSON(configTemplate)).chain((config) =>
  serialised(mutatedJSON(manifestTemplate(config))).chain((manifest) =>
    fc.record({
      config: fc.constant(config),
      manifest: fc.constant(manifest),
      index: fc.option(serialised(mutatedJSON(indexTemplate(manifest))), { freq: 2 }),
    }),
  ),
);

test('manifests and indexes from a registry: EMANIFEST or EMEDIATYPE, or a document pull can use', (t) => {
  const peakBefore = peakRssMB();
  const contentType = fc.constantFrom(
    '',
    'application/json',
    MediaType.ociManifest,
    MediaType.ociIndex,
    MediaType.dockerManifest,
    MediaType.dockerManifestList,
    'application/vnd.docker.distribution.manifest.v1+prettyjws',
    'text/plain',
  );
  const served = fc.oneof(
    image.map((i) => i.manifest),
    image.chain((i) => (i.index ? fc.constant(i.index) : fc.constant(i.manifest))),
  );
  fc.assert(
    fc.property(served, contentType, (text, type) =>
      bounded(() => {
        try {
          const document = parseManifest(Buffer.from(text), type, 'fuzz');
          if ('manifests' in document && Array.isArray(document.manifests)) selectPlatform(document.manifests, hostPlatform(), 'fuzz');
        } catch (error) {
          expectTyped(error, ImageError, ['EMANIFEST', 'EMEDIATYPE', 'EPLATFORM']);
        }
      }),
    ),
    fuzzParameters(t, 3000),
  );
  t.true(peakRssMB() - peakBefore < MEMORY_GROWTH_MB, `peak RSS grew ${Math.round(peakRssMB() - peakBefore)} MB`);
});

test("images in a store written by another tool: inspect, unpack's config.json, images and gc fail only with typed errors", async (t) => {
  const { dir, remove } = tempDir('fuzz-store');
  t.teardown(remove);
  const store = await Store.open(path.join(dir, 'store'), { create: true });
  const rootfs = path.join(dir, 'rootfs');
  mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\n');
  const put = (text: string) => writeFileSync(store.blobPath(digestOf(text)), text);
  const top = (i: { manifest: string; index: string | null }) =>
    i.index ? descriptor(MediaType.ociIndex, i.index) : descriptor(MediaType.ociManifest, i.manifest);
  const layout = image.chain((i) =>
    fc.record({
      image: fc.constant(i),
      indexJson: serialised(mutatedJSON({ schemaVersion: 2, manifests: [{ ...top(i), annotations: { 'org.opencontainers.image.ref.name': 'fuzz' } }] })),
    }),
  );
  const peakBefore = peakRssMB();
  let bundles = 0; // how many inputs got through to a runtime config: the fuzzer reaches deep
  await fc.assert(
    fc.asyncProperty(layout, async ({ image: { config, manifest, index }, indexJson }) => {
      rmSync(path.join(store.dir, 'blobs', 'sha256'), { recursive: true, force: true });
      mkdirSync(path.join(store.dir, 'blobs', 'sha256'));
      for (const blob of [config, manifest, ...(index ? [index] : [])]) put(blob);
      // A new file: truncating one in place makes ext4 flush it (auto_da_alloc), 2 ms a write.
      rmSync(path.join(store.dir, 'index.json'));
      writeFileSync(path.join(store.dir, 'index.json'), indexJson);
      await boundedAsync(async () => {
        try {
          const { config: imageConfig } = await readImage(store, 'fuzz');
          specFromImage(imageConfig, { rootfs });
          bundles++;
        } catch (error) {
          if (!(error instanceof BundleError)) expectTyped(error, ImageError, IMAGE_ERRORS);
        }
        try {
          await listImages(store);
          await store.gc();
        } catch (error) {
          expectTyped(error, ImageError, ['ESTORE']);
        }
      });
    }),
    fuzzParameters(t, 600),
  );
  t.log(`${bundles} images became a runtime config`);
  t.true(peakRssMB() - peakBefore < MEMORY_GROWTH_MB, `peak RSS grew ${Math.round(peakRssMB() - peakBefore)} MB`);
});
