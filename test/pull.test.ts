/**
 * `pull` against Debian's docker-registry, with a fault-injecting proxy in front of it for what a
 * real registry will not do on demand. Every failure must leave the store as it was.
 */

import { statSync } from 'node:fs';
import { connect, createServer as createNetServer } from 'node:net';
import { type HostsConfig, ImageError, MediaType, type PullOptions, pull, readImage, Store } from '@oci/image';
import test from 'ava';
import { busyboxImage, busyboxLayerDigest } from './harness/busybox.js';
import { type FaultProxy, startFaultProxy } from './harness/fault-proxy.js';
import { type BuiltImage, buildImage, buildIndex, pushLayout, sha256, tarLayer, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { snapshotStore } from './harness/store.js';
import { tempDir } from './harness/tmp.js';
import { listen } from './harness/token-server.js';

// The proxy's faults and request log are shared: these tests run one at a time.
const serial = test.serial;

let registry: Registry;
let proxy: FaultProxy;
let image: BuiltImage;
let layer: string;
let arm: BuiltImage;

test.before(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  image = await busyboxImage();
  layer = busyboxLayerDigest(image);
  arm = buildImage([await tarLayer([{ path: 'arm', content: 'arm64' }])], { architecture: 'arm64', os: 'linux', variant: 'v8' });
  const layout = tempDir('layout');
  writeLayout(layout.dir, { latest: image, multi: buildIndex([image, arm]) });
  pushLayout(layout.dir, 'latest', `${registry.host}/library/busybox:latest`);
  pushLayout(layout.dir, 'multi', `${registry.host}/library/multi:latest`);
  pushLayout(layout.dir, 'latest', `${registry.host}/library/busybox-docker:latest`, 'v2s2');
  layout.remove();
});
test.after.always(async () => {
  await proxy?.stop();
  await registry?.stop();
});

const noMirrors = (): HostsConfig => ({ mirrors: new Map(), insecure: new Set() });
const quick: PullOptions = { hosts: noMirrors(), retryDelay: 10, env: { HOME: '/nonexistent' } };

async function emptyStore(t: { teardown(fn: () => void): void }) {
  const { dir, remove } = tempDir('store');
  t.teardown(remove);
  return { dir, store: await Store.open(dir, { create: true }) };
}

/** Pulls through the proxy with `faults` in place; returns the error. The store must be unchanged. */
async function pullFails(
  t: import('ava').ExecutionContext,
  faults: FaultProxy['faults'],
  ref = `${proxy.host}/library/busybox:latest`,
  options: PullOptions = {},
) {
  const { dir, store } = await emptyStore(t);
  const before = snapshotStore(dir);
  proxy.faults.splice(0, Infinity, ...faults);
  try {
    const error = await t.throwsAsync(pull(store, ref, { ...quick, ...options }), { instanceOf: ImageError });
    t.deepEqual(snapshotStore(dir), before, 'the store is as it was');
    return error!;
  } finally {
    proxy.faults.length = 0;
  }
}

serial('pull by tag stores the manifest under the full reference, with every blob checked', async (t) => {
  const { dir, store } = await emptyStore(t);
  const result = await pull(store, `${registry.host}/library/busybox`, quick);
  t.is(result.name, `${registry.host}/library/busybox:latest`);
  t.is(result.descriptor.digest, image.manifest.digest);
  t.deepEqual(result.descriptor.platform, { os: 'linux', architecture: 'amd64' });
  for (const digest of image.blobs.keys()) t.true(await store.hasBlob(digest), digest);
  const stored = await readImage(store, result.name, { os: 'linux', architecture: 'amd64' });
  t.is(stored.manifest.layers[0]!.digest, layer);
  t.is(await store.lastPulled(), result.name);
  t.deepEqual(snapshotStore(dir).ingest, [], 'nothing left in ingest/');
});

serial('pull by digest names the image by its digest', async (t) => {
  const { store } = await emptyStore(t);
  const ref = `${registry.host}/library/busybox@${image.manifest.digest}`;
  const result = await pull(store, ref, quick);
  t.is(result.name, ref);
  t.deepEqual([...(await store.refs()).keys()], [ref]);
});

serial('pull of an image with Docker schema 2 media types keeps them', async (t) => {
  const { store } = await emptyStore(t);
  const result = await pull(store, `${registry.host}/library/busybox-docker`, quick);
  t.is(result.descriptor.mediaType, MediaType.dockerManifest);
  t.is(result.manifest.layers[0]!.mediaType, MediaType.dockerLayerGzip);
  t.is(result.manifest.config.mediaType, MediaType.dockerConfig);
  t.true(await store.hasBlob(result.manifest.layers[0]!.digest));
});

serial('pulling a present image again asks for the manifest, fetches no blob and rewrites none', async (t) => {
  const { store } = await emptyStore(t);
  const first = await pull(store, `${proxy.host}/library/busybox`, quick);
  const manifestFile = statSync(store.blobPath(first.descriptor.digest));
  proxy.requests.length = 0;
  await pull(store, `${proxy.host}/library/busybox`, quick);
  t.deepEqual(
    proxy.requests.filter((r) => !r.path.endsWith('/v2/')).map((r) => `${r.method} ${r.path}`),
    ['GET /v2/library/busybox/manifests/latest'],
  );
  t.is(statSync(store.blobPath(first.descriptor.digest)).ino, manifestFile.ino, 'the stored manifest is the file the first pull wrote');
});

serial('a plain-HTTP loopback registry is never offered a TLS handshake', async (t) => {
  // A TCP relay to the registry that notes how each connection starts (0x16: a TLS handshake).
  const firstBytes: number[] = [];
  const relay = createNetServer((client) => {
    client.once('data', (chunk: Buffer) => firstBytes.push(chunk[0]!));
    const upstream = connect(Number(new URL(registry.url).port), '127.0.0.1');
    for (const socket of [client, upstream]) socket.on('error', () => socket.destroy());
    client.pipe(upstream).pipe(client);
  });
  const port = await listen(relay);
  t.teardown(() => relay.close());
  const { store } = await emptyStore(t);
  await pull(store, `127.0.0.1:${port}/library/busybox`, quick);
  t.true(firstBytes.length > 0);
  t.false(firstBytes.includes(0x16), `connections began with ${firstBytes.map((b) => `0x${b.toString(16)}`).join(', ')}`);
});

serial('a blob whose connection breaks off is resumed with a Range request', async (t) => {
  const { store } = await emptyStore(t);
  proxy.faults.push({ path: new RegExp(`/blobs/${layer}$`), times: 1, action: { cut: 300_000 } });
  proxy.requests.length = 0;
  const events: string[] = [];
  await pull(store, `${proxy.host}/library/busybox`, { ...quick, onProgress: (e) => e.type === 'resume' && events.push(`${e.offset}`) });
  t.true(await store.hasBlob(layer, image.blobs.get(layer)!.length));
  const ranges = proxy.requests.filter((r) => r.path.endsWith(layer)).map((r) => r.range);
  t.is(ranges.length, 2);
  t.is(ranges[0], undefined);
  t.regex(ranges[1] ?? '', /^bytes=\d+-$/);
  t.true(Number(/\d+/.exec(ranges[1]!)![0]) > 0, 'the second request goes on from where the first stopped');
  t.deepEqual(events, [ranges[1]!.slice(6, -1)]);
});

serial('a blob download that stalls mid-body fails once the timeout passes without a byte, storing nothing', async (t) => {
  const started = Date.now();
  const error = await pullFails(t, [{ path: new RegExp(`/blobs/${layer}$`), action: { stall: 200_000 } }], undefined, { timeout: 500 });
  t.is(error.code, 'ETIMEOUT');
  t.is(error.message, `${proxy.host} sent nothing for 0.5 s (GET /v2/library/busybox/blobs/${layer})`);
  t.true(Date.now() - started < 1500, `gave up after ${Date.now() - started} ms`);
});

serial('a 5xx answer is retried', async (t) => {
  const { store } = await emptyStore(t);
  proxy.faults.push({ path: /\/manifests\//, times: 2, action: { status: 503 } });
  await pull(store, `${proxy.host}/library/busybox`, quick);
  t.true(await store.hasBlob(layer));
});

serial('a corrupt blob is refused and nothing is stored', async (t) => {
  const error = await pullFails(t, [{ path: new RegExp(`/blobs/${layer}$`), action: { corrupt: 5000 } }]);
  t.is(error.code, 'EDIGEST');
  t.regex(error.message, new RegExp(`digest sha256:[0-9a-f]{64}, expected ${layer}`));
});

serial('a truncated blob is refused', async (t) => {
  const error = await pullFails(t, [{ path: new RegExp(`/blobs/${layer}$`), action: { truncate: 1000 } }]);
  t.is(error.code, 'EDIGEST');
  t.regex(error.message, new RegExp(`${layer}: size 1000, expected ${image.blobs.get(layer)!.length}`));
});

serial('a manifest whose bytes do not match the digest the registry gives is refused', async (t) => {
  const changed = JSON.stringify({ ...JSON.parse(image.blobs.get(image.manifest.digest)!.toString()), annotations: { evil: 'yes' } });
  const error = await pullFails(t, [{ path: /\/manifests\/latest$/, action: { replace: changed } }]);
  t.is(error.code, 'EDIGEST');
  t.regex(error.message, new RegExp(`expected ${image.manifest.digest}`));
});

serial('a manifest fetched by digest must have that digest', async (t) => {
  const changed = JSON.stringify({ ...JSON.parse(image.blobs.get(image.manifest.digest)!.toString()), annotations: { evil: 'yes' } });
  const error = await pullFails(
    t,
    [{ path: /\/manifests\/sha256:/, action: { replace: changed, headers: { 'docker-content-digest': sha256(changed) } } }],
    `${proxy.host}/library/busybox@${image.manifest.digest}`,
  );
  t.is(error.code, 'EDIGEST');
});

serial('a malformed manifest is refused with what is wrong with it', async (t) => {
  const bad = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: 'sha256:nothex', size: 2 },
    layers: [],
  });
  const error = await pullFails(t, [{ path: /\/manifests\/latest$/, action: { replace: bad, headers: { 'docker-content-digest': sha256(bad) } } }]);
  t.is(error.code, 'EMANIFEST');
  t.is(error.message, `manifest ${proxy.host}/library/busybox:latest is malformed: config has a bad digest "sha256:nothex"`);
});

serial('429 Too Many Requests, after retries, says the registry is rate limiting', async (t) => {
  const error = await pullFails(t, [{ path: /\/manifests\//, action: { status: 429, headers: { 'retry-after': '0' } } }]);
  t.is(error.code, 'EREGISTRY');
  t.is(error.message, `${proxy.host} is rate limiting requests (429 Too Many Requests): try again later`);
  t.true(proxy.requests.filter((r) => r.path.includes('/manifests/')).length >= 4, 'retried');
});

serial('an image the registry does not have is ENOTFOUND naming the reference', async (t) => {
  const error = await pullFails(t, [], `${registry.host}/library/nothing:1.0`);
  t.is(error.code, 'ENOTFOUND');
  t.is(error.message, `manifest ${registry.host}/library/nothing:1.0 not found in ${registry.host} (MANIFEST_UNKNOWN: manifest unknown)`);
});

serial('an unknown host is ENETWORK naming the host', async (t) => {
  const error = await pullFails(t, [], 'registry.nonexistent.invalid/library/busybox');
  t.is(error.code, 'ENETWORK');
  t.is(error.message, 'unknown host registry.nonexistent.invalid');
});

serial('a mirror that lacks the image falls back to the registry itself', async (t) => {
  const { store } = await emptyStore(t);
  proxy.faults.push({ path: /\/manifests\//, action: { status: 404, body: '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}' } });
  t.teardown(() => (proxy.faults.length = 0));
  const hosts: HostsConfig = { mirrors: new Map([[registry.host, [new URL(proxy.url)]]]), insecure: new Set() };
  proxy.requests.length = 0;
  const result = await pull(store, `${registry.host}/library/busybox`, { ...quick, hosts });
  t.is(result.descriptor.digest, image.manifest.digest);
  t.true(
    proxy.requests.some((r) => r.path === '/v2/library/busybox/manifests/latest'),
    'the mirror was asked first',
  );
});

/** A loopback port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

serial('an image a mirror lacks, behind it a registry that cannot be reached: ENOTFOUND naming both', async (t) => {
  const unreachable = `127.0.0.1:${await closedPort()}`;
  const hosts: HostsConfig = { mirrors: new Map([[unreachable, [new URL(registry.url)]]]), insecure: new Set() };
  const error = await pullFails(t, [], `${unreachable}/library/nothing:1.0`, { hosts, retries: 0 });
  t.is(error.code, 'ENOTFOUND');
  t.is(
    error.message,
    `manifest ${unreachable}/library/nothing:1.0 not found in mirror ${registry.host} (MANIFEST_UNKNOWN: manifest unknown); connection refused by ${unreachable}`,
  );
});

serial('an image the registry lacks, after a mirror that cannot be reached: ENOTFOUND naming both', async (t) => {
  const unreachable = `127.0.0.1:${await closedPort()}`;
  const hosts: HostsConfig = { mirrors: new Map([[registry.host, [new URL(`http://${unreachable}`)]]]), insecure: new Set() };
  const error = await pullFails(t, [], `${registry.host}/library/nothing:1.0`, { hosts, retries: 0 });
  t.is(error.code, 'ENOTFOUND');
  t.is(
    error.message,
    `manifest ${registry.host}/library/nothing:1.0 not found in ${registry.host} (MANIFEST_UNKNOWN: manifest unknown); mirror ${unreachable}: connection refused by ${unreachable}`,
  );
});

serial('a mirror that never answers is left after the timeout, and the registry itself gets a timeout of its own', async (t) => {
  const { store } = await emptyStore(t);
  proxy.faults.push({ path: /./, action: { hang: true } });
  t.teardown(() => (proxy.faults.length = 0));
  const hosts: HostsConfig = { mirrors: new Map([[registry.host, [new URL(proxy.url)]]]), insecure: new Set() };
  const started = Date.now();
  const result = await pull(store, `${registry.host}/library/busybox`, { ...quick, hosts, timeout: 1000 });
  t.is(result.descriptor.digest, image.manifest.digest);
  t.true(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
});

serial('a mirror serves the whole pull when it has the image', async (t) => {
  const { store } = await emptyStore(t);
  const hosts: HostsConfig = { mirrors: new Map([['docker.io', [new URL(proxy.url)]]]), insecure: new Set() };
  proxy.requests.length = 0;
  const result = await pull(store, 'busybox', { ...quick, hosts });
  t.is(result.name, 'docker.io/library/busybox:latest');
  t.true(proxy.requests.some((r) => r.path === `/v2/library/busybox/blobs/${layer}`));
});

serial('from a multi-platform index, pull takes the manifest for this host, or for --platform', async (t) => {
  const { store } = await emptyStore(t);
  const host = await pull(store, `${registry.host}/library/multi`, { ...quick, platform: undefined });
  t.is(host.descriptor.digest, image.manifest.digest, 'amd64, the host');
  t.deepEqual(host.descriptor.platform, { os: 'linux', architecture: 'amd64' });
  const other = await pull(store, `${registry.host}/library/multi`, { ...quick, platform: { os: 'linux', architecture: 'arm64' } });
  t.is(other.descriptor.digest, arm.manifest.digest, 'arm64 (variant v8 by default)');
  t.is(other.config.architecture, 'arm64');
  t.deepEqual(
    [...(await store.refs()).values()].map((d) => d.digest),
    [arm.manifest.digest],
    'the name now points at the arm64 image',
  );
});

serial('an index without the asked platform is EPLATFORM listing what it offers', async (t) => {
  const error = await pullFails(t, [], `${registry.host}/library/multi`, { platform: { os: 'linux', architecture: 's390x' } });
  t.is(error.code, 'EPLATFORM');
  t.is(error.message, `${registry.host}/library/multi:latest has no image for linux/s390x; it offers linux/amd64, linux/arm64/v8`);
});

serial('--platform that a single-platform image does not match is refused', async (t) => {
  const error = await pullFails(t, [], `${registry.host}/library/busybox`, { platform: { os: 'linux', architecture: 'arm64' } });
  t.is(error.code, 'EPLATFORM');
  t.is(error.message, `${registry.host}/library/busybox:latest is an image for linux/amd64 only, not linux/arm64/v8`);
});
