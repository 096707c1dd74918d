/**
 * `push` to Debian's docker-registry, watched through the fault proxy's request log: existence
 * checks, monolithic and chunked uploads, cross-repository mounts, manifests last, indexes.
 */

import { type HostsConfig, ImageError, type PushOptions, pull, push, Store } from '@oci/image';
import test from 'ava';
import { busyboxImage, busyboxLayerDigest } from './harness/busybox.js';
import { type FaultProxy, startFaultProxy } from './harness/fault-proxy.js';
import { type BuiltImage, buildImage, buildIndex, tarLayer, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { tempDir } from './harness/tmp.js';

// The proxy's request log is shared: these tests run one at a time.
const serial = test.serial;

let registry: Registry;
let proxy: FaultProxy;
let image: BuiltImage;
let store: Store;
let layer: string;
let removeLayout: () => void;

test.before(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  image = await busyboxImage();
  layer = busyboxLayerDigest(image);
  const layout = tempDir('layout');
  removeLayout = layout.remove;
  const arm = buildImage([await tarLayer([{ path: 'arm', content: 'arm64' }])], { architecture: 'arm64', os: 'linux', variant: 'v8' });
  writeLayout(layout.dir, { latest: image, multi: buildIndex([image, arm]) });
  store = await Store.open(layout.dir);
});
test.after.always(async () => {
  await proxy?.stop();
  await registry?.stop();
  removeLayout?.();
});

const options: PushOptions = { hosts: { mirrors: new Map(), insecure: new Set() } as HostsConfig, env: { HOME: '/nonexistent' } };
const log = () =>
  proxy.requests
    .filter((r) => !r.path.endsWith('/v2/'))
    .map((r) => `${r.method} ${r.path.replace(/\?.*/, (q) => (q.includes('mount=') ? '?mount' : q.includes('digest=') ? '?digest' : ''))}`);

serial('push uploads every blob, then the manifest; a second push only checks that they exist', async (t) => {
  proxy.requests.length = 0;
  const result = await push(store, 'latest', `${proxy.host}/first/busybox:1`, options);
  t.is(result.descriptor.digest, image.manifest.digest);
  const requests = log();
  t.is(requests.at(-1), 'PUT /v2/first/busybox/manifests/1', 'the manifest goes last');
  t.true(requests.includes(`HEAD /v2/first/busybox/blobs/${layer}`));
  t.is(requests.filter((r) => r.startsWith('PUT /v2/first/busybox/blobs/uploads/')).length, 2, 'config and layer, each in one PUT');
  t.false(requests.some((r) => r.startsWith('PATCH')));

  proxy.requests.length = 0;
  await push(store, 'latest', `${proxy.host}/first/busybox:1`, options);
  t.deepEqual(
    log().filter((r) => !r.startsWith('HEAD')),
    ['PUT /v2/first/busybox/manifests/1'],
  );

  const { dir, remove } = tempDir('store');
  t.teardown(remove);
  const pulled = await pull(await Store.open(dir, { create: true }), `${registry.host}/first/busybox:1`, options);
  t.is(pulled.descriptor.digest, image.manifest.digest);
});

serial('with a chunk size, big blobs go up in PATCH chunks', async (t) => {
  proxy.requests.length = 0;
  await push(store, 'latest', `${proxy.host}/chunked/busybox:1`, { ...options, chunkSize: 256 * 1024 });
  const patches = proxy.requests.filter((r) => r.method === 'PATCH');
  t.is(patches.length, Math.ceil(image.blobs.get(layer)!.length / (256 * 1024)));
  const { dir, remove } = tempDir('store');
  t.teardown(remove);
  const pulled = await pull(await Store.open(dir, { create: true }), `${registry.host}/chunked/busybox:1`, options);
  t.is(pulled.descriptor.digest, image.manifest.digest);
});

serial('a blob the registry has in another repository is mounted, not uploaded', async (t) => {
  await push(store, 'latest', `${registry.host}/source/busybox:1`, options);
  const { dir, remove } = tempDir('store');
  t.teardown(remove);
  const local = await Store.open(dir, { create: true });
  await pull(local, `${proxy.host}/source/busybox:1`, options);
  proxy.requests.length = 0;
  await push(local, `${proxy.host}/source/busybox:1`, `${proxy.host}/mounted/busybox:1`, options);
  const requests = log();
  t.true(requests.includes('POST /v2/mounted/busybox/blobs/uploads/?mount'));
  t.false(
    requests.some((r) => r.startsWith('PUT /v2/mounted/busybox/blobs/')),
    'no blob was uploaded',
  );
  t.is(requests.at(-1), 'PUT /v2/mounted/busybox/manifests/1');
});

serial('an index goes up after every manifest it lists', async (t) => {
  proxy.requests.length = 0;
  const multi = await store.resolve('multi');
  await push(store, 'multi', `${proxy.host}/multi/busybox:1`, options);
  const manifests = log().filter((r) => r.includes('/manifests/'));
  t.is(manifests.length, 3);
  t.is(manifests.at(-1), 'PUT /v2/multi/busybox/manifests/1');
  t.true(
    manifests.slice(0, 2).every((r) => /manifests\/sha256:/.test(r)),
    'platform manifests go by digest',
  );
  const response = await fetch(`${registry.url}/v2/multi/busybox/manifests/1`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
  t.is(response.headers.get('docker-content-digest'), multi.digest);
});

serial('pushing a name the store lacks, or to a registry that refuses, is a clear error', async (t) => {
  const missing = await t.throwsAsync(push(store, 'nothing', `${registry.host}/x/y:1`, options), { instanceOf: ImageError });
  t.is(missing?.message, 'no image named nothing in the store');
  proxy.faults.push({
    method: 'POST',
    path: /\/blobs\/uploads\//,
    action: { status: 403, body: '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}' },
  });
  t.teardown(() => (proxy.faults.length = 0));
  const denied = await t.throwsAsync(push(store, 'latest', `${proxy.host}/denied/busybox:1`, options), { instanceOf: ImageError });
  t.is(denied?.code, 'EAUTH');
  t.regex(
    denied!.message,
    /denied access to denied\/busybox for anonymous access \(no credentials for 127\.0\.0\.1:\d+ from --creds, oci login or docker login\)/,
  );
});
