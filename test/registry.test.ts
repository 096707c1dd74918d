import test from 'ava';
import { busyboxImage } from './harness/busybox.js';
import { pushLayout, sha256, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { tempDir } from './harness/tmp.js';

let registry: Registry;
test.before(async () => {
  registry = await startRegistry();
});
test.after.always(async () => {
  await registry?.stop();
});

test('busybox pushed to the real registry comes back by its manifest digest', async (t) => {
  const image = await busyboxImage();
  const layout = tempDir('layout');
  t.teardown(layout.remove);
  writeLayout(layout.dir, { latest: image });
  pushLayout(layout.dir, 'latest', `${registry.host}/library/busybox:latest`);

  const response = await fetch(`${registry.url}/v2/library/busybox/manifests/latest`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  t.is(response.status, 200);
  t.is(response.headers.get('docker-content-digest'), image.manifest.digest);
  const manifest = (await response.json()) as { config: { digest: string }; layers: { digest: string }[] };
  t.is(manifest.config.digest, sha256(JSON.stringify(image.config)));
  const layer = await fetch(`${registry.url}/v2/library/busybox/blobs/${manifest.layers[0]!.digest}`);
  t.is(layer.status, 200);
  t.is(Number(layer.headers.get('content-length')), image.blobs.get(manifest.layers[0]!.digest)!.length);
});

test('an image the registry does not hold answers 404 MANIFEST_UNKNOWN', async (t) => {
  const response = await fetch(`${registry.url}/v2/library/nothing/manifests/latest`);
  t.is(response.status, 404);
  const body = (await response.json()) as { errors: { code: string }[] };
  t.is(body.errors[0]!.code, 'MANIFEST_UNKNOWN');
});
