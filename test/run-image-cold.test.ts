/**
 * `oci run IMAGE` into a store without the image: the layers are applied while they download
 * (their bytes go to the blob's file and from there into the snapshot), runs started together
 * download and unpack the image once, and a download that turns out wrong commits nothing. The
 * registry is the real one, behind the fault proxy (which counts requests and stalls or
 * corrupts a blob on demand).
 */

import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { busyboxLayer } from './harness/busybox.js';
import { ociAsync } from './harness/cli.js';
import { type FaultProxy, startFaultProxy } from './harness/fault-proxy.js';
import { type BuiltImage, buildImage, pushLayout, tarLayer, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let registry: Registry;
let proxy: FaultProxy;
let state: StateRoot;
/** busybox and a second layer of 300 files of random bytes (6 MB that gzip cannot shrink: several of the inflater's 1 MB buffers). */
let image: BuiltImage;
test.before(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  state = stateRoot();
  image = buildImage(
    [
      await busyboxLayer(),
      await tarLayer(Array.from({ length: 300 }, (_, i) => ({ path: `data/file${String(i).padStart(3, '0')}`, content: randomBytes(20000) }))),
    ],
    { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'], Env: ['PATH=/bin'] } },
  );
  const layout = tempDir('layout');
  writeLayout(layout.dir, { latest: image });
  pushLayout(layout.dir, 'latest', `${registry.host}/library/data:latest`);
  layout.remove();
});
test.after.always(async () => {
  await proxy?.stop();
  await registry?.stop();
  state?.remove();
});

const env = () => ({ ...process.env, OCI_REGISTRY_MIRRORS: `docker.io=${proxy.url}`, HOME: '/nonexistent' });
const layerDigest = (i: number) => JSON.parse(image.blobs.get(image.manifest.digest)!.toString()).layers[i].digest as string;
const blobGets = (digest: string) => proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/blobs/${digest}`)).length;

function newStore(t: ExecutionContext): string {
  const store = tempDir('store');
  t.teardown(store.remove);
  return store.dir;
}

const committed = (store: string) => (existsSync(path.join(store, 'snapshots', 'sha256')) ? readdirSync(path.join(store, 'snapshots', 'sha256')).length : 0);

// Serial: they share the proxy's faults and request log.
test.serial('four cold runs of one image at once: each blob downloaded once, each layer applied once, all succeed', async (t) => {
  const store = newStore(t);
  const before = [0, 1].map((i) => blobGets(layerDigest(i)));
  const runs = await Promise.all(
    Array.from({ length: 4 }, () => ociAsync(['--store', store, '--root', state.root, 'run', 'data', 'sh', '-c', 'ls /data | wc -l'], { env: env() })),
  );
  for (const run of runs) {
    t.is(run.status, 0, run.stderr);
    t.is(run.stdout.trim(), '300');
  }
  t.deepEqual(
    [0, 1].map((i) => blobGets(layerDigest(i)) - before[i]!),
    [1, 1],
  );
  t.is(committed(store), 2);
});

test.serial(
  'a layer is applied while it downloads: with its download stalled halfway, files it holds are already in its snapshot being made; the stalled download commits nothing',
  async (t) => {
    const store = newStore(t);
    const digest = layerDigest(1);
    const size = image.blobs.get(digest)!.length;
    proxy.faults.push({ method: 'GET', path: new RegExp(`/blobs/${digest}$`), times: 1, action: { stall: Math.floor(size / 2) } });
    const run = ociAsync(['--store', store, '--root', state.root, 'run', '--timeout', '3', 'data', 'true'], { env: env() });
    // While the download is stalled, some of the layer's files are already applied (a bounded wait).
    let applied: string[] = [];
    for (let i = 0; i < 200 && applied.length === 0; i++) {
      applied = snapshotFilesInProgress(store);
      if (applied.length === 0) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    t.true(applied.length > 0, 'files of the stalled layer were applied before its download ended');
    t.true(applied.length < 300, 'and not all of them: the rest was still to come');
    const stalled = await run;
    t.is(stalled.status, 1);
    t.regex(stalled.stderr, /^oci: run data: .*sent nothing for 3 s/);
    t.is(committed(store), 1, 'the stalled layer was not committed');
    t.deepEqual(snapshotFilesInProgress(store), [], 'nor left half made');
    const next = await ociAsync(['--store', store, '--root', state.root, 'run', 'data', 'sh', '-c', 'cat /data/file299 | wc -c'], { env: env() });
    t.is(next.status, 0, next.stderr);
    t.is(next.stdout.trim(), '20000');
    t.is(committed(store), 2);
  },
);

test.serial('a download whose bytes turn out wrong commits no snapshot of its layer: one line, non-zero, and the next run works', async (t) => {
  const store = newStore(t);
  const digest = layerDigest(1);
  const size = image.blobs.get(digest)!.length;
  proxy.faults.push({ method: 'GET', path: new RegExp(`/blobs/${digest}$`), times: 1, action: { corrupt: size - 20 } });
  const bad = await ociAsync(['--store', store, '--root', state.root, 'run', 'data', 'true'], { env: env() });
  t.is(bad.status, 1);
  t.regex(bad.stderr, /^oci: run data: .+\n$/);
  t.is(committed(store), 1, 'only the first layer, whole and verified');
  t.deepEqual(
    readdirSync(path.join(store, 'ingest')).filter((name) => name !== 'index.json.tmp'),
    [],
  );
  const good = await ociAsync(['--store', store, '--root', state.root, 'run', 'data', 'true'], { env: env() });
  t.is(good.status, 0, good.stderr);
  t.is(committed(store), 2);
});

test.serial("oci pull into a store that holds snapshots prepares the new image's as it downloads", async (t) => {
  const store = newStore(t);
  const run = (args: string[]) => ociAsync(['--store', store, '--root', state.root, ...args], { env: env() });
  t.is((await run(['pull', '--quiet', 'data'])).status, 0);
  t.is(committed(store), 0, 'a store without snapshots gets none');
  t.is((await run(['run', 'data', 'true'])).status, 0);
  t.is((await run(['rmi', 'data'])).status, 0);
  t.is((await run(['gc'])).status, 0);
  t.is(committed(store), 0);
  t.is((await run(['pull', '--quiet', 'data'])).status, 0);
  t.is(committed(store), 2, "a store with snapshots gets the image's");
});

/** Files under data/ in a snapshot being prepared (in a lease directory under ingest/). */
function snapshotFilesInProgress(store: string): string[] {
  const ingest = path.join(store, 'ingest');
  const files: string[] = [];
  for (const lease of existsSync(ingest) ? readdirSync(ingest) : []) {
    const leaseDir = path.join(ingest, lease);
    if (!/^[0-9a-f]{12}$/.test(lease)) continue;
    for (const entry of readdirSafe(leaseDir)) {
      if (entry.startsWith('snapshot-')) files.push(...readdirSafe(path.join(leaseDir, entry, 'fs', 'data')));
    }
  }
  return files;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
