/**
 * The library's long operations stop when their AbortSignal fires: pull, push, copy (from the
 * real registry, held mid-blob by the fault proxy), unpack, save and load. Each rejects with an
 * AbortError (code EABORTED, the signal's reason as its cause), well before any timeout, and
 * leaves nothing half-written: the store as it was, no archive or temp file, no rootfs.
 */

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createBundle } from '@oci/bundle';
import { copy, type HostsConfig, ImageError, load, type ProgressEvent, pull, push, Store, save, unpack } from '@oci/image';
import test, { type ExecutionContext } from 'ava';
import { busyboxImage, busyboxLayerDigest } from './harness/busybox.js';
import { type FaultProxy, startFaultProxy } from './harness/fault-proxy.js';
import { type BuiltImage, buildImage, pushLayout, tarLayer, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { snapshotStore } from './harness/store.js';
import { tempDir } from './harness/tmp.js';

// The proxy's faults are shared: these tests run one at a time.
const serial = test.serial;

let registry: Registry;
let proxy: FaultProxy;
let image: BuiltImage;
let layer: string;
/** A layout holding busybox as `latest` and a 24 MB layer as `large`: a source store. */
let layout: string;
let removeLayout: () => void;

test.before(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  image = await busyboxImage();
  layer = busyboxLayerDigest(image);
  ({ dir: layout, remove: removeLayout } = tempDir('layout'));
  const numbers = Array.from({ length: 3 << 20 }, (_, i) => `${i * 7919}\n`)
    .join('')
    .slice(0, 24 << 20);
  writeLayout(layout, {
    latest: image,
    large: buildImage([await tarLayer([{ path: 'data', content: numbers }])], { architecture: 'amd64', os: 'linux', config: { Cmd: ['true'] } }),
  });
  pushLayout(layout, 'latest', `${registry.host}/library/busybox:latest`);
});
test.after.always(async () => {
  await proxy?.stop();
  await registry?.stop();
  removeLayout?.();
});

const options = { hosts: { mirrors: new Map(), insecure: new Set() } as HostsConfig, env: { HOME: '/nonexistent' }, timeout: 60_000 };

async function emptyStore(t: ExecutionContext) {
  const { dir, remove } = tempDir('store');
  t.teardown(remove);
  return { dir, store: await Store.open(dir, { create: true }) };
}

/** An AbortController that aborts when `when` first holds for a progress event, and the listener that watches. */
function abortOn(when: (event: ProgressEvent) => boolean) {
  const controller = new AbortController();
  const reason = new Error('the test stops it');
  return { signal: controller.signal, reason, onProgress: (event: ProgressEvent) => when(event) && !controller.signal.aborted && controller.abort(reason) };
}

/** `operation` rejects with the AbortError, long before the 60 s timeout. */
async function aborted(t: ExecutionContext, operation: Promise<unknown>, reason: Error): Promise<void> {
  const started = Date.now();
  const error = await t.throwsAsync(operation, { instanceOf: ImageError });
  t.is(error.code, 'EABORTED');
  t.is(error.name, 'AbortError');
  t.is(error.cause, reason);
  t.true(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
}

/** The proxy holds the layer's download after its first 64 KB, until the client gives up. */
function stallLayer(t: ExecutionContext) {
  proxy.faults.splice(0, Infinity, { method: 'GET', path: new RegExp(`/blobs/${layer}`), action: { stall: 65536 } });
  t.teardown(() => (proxy.faults.length = 0));
}

serial('pull: aborted mid-blob, nothing of the image is in the store', async (t) => {
  const { dir, store } = await emptyStore(t);
  const before = snapshotStore(dir);
  stallLayer(t);
  const { signal, reason, onProgress } = abortOn((event) => event.type === 'bytes');
  await aborted(t, pull(store, `${proxy.host}/library/busybox`, { ...options, signal, onProgress }), reason);
  t.deepEqual(snapshotStore(dir), before);
});

serial('copy from a registry into the store: aborted mid-blob, the store as it was', async (t) => {
  const { dir, store } = await emptyStore(t);
  const before = snapshotStore(dir);
  stallLayer(t);
  const { signal, reason, onProgress } = abortOn((event) => event.type === 'bytes');
  await aborted(t, copy(`docker://${proxy.host}/library/busybox`, 'copied:1', { ...options, store, signal, onProgress }), reason);
  t.deepEqual(snapshotStore(dir), before);
});

serial('push: aborted while the registry holds the upload, no manifest is pushed', async (t) => {
  proxy.faults.splice(0, Infinity, { method: 'PUT', path: /\/blobs\/uploads\//, action: { hang: true } });
  t.teardown(() => (proxy.faults.length = 0));
  const { signal, reason, onProgress } = abortOn((event) => event.type === 'bytes' && event.done === event.size);
  await aborted(t, push(await Store.open(layout), 'latest', `${proxy.host}/aborted/busybox:1`, { ...options, signal, onProgress }), reason);
  proxy.faults.length = 0;
  const { store } = await emptyStore(t);
  const error = await t.throwsAsync(pull(store, `${registry.host}/aborted/busybox:1`, options), { instanceOf: ImageError });
  t.is(error.code, 'ENOTFOUND');
});

serial('unpack and createBundle: aborted mid-layer, no rootfs and no temp copy is left', async (t) => {
  const { dir, remove } = tempDir('target');
  t.teardown(remove);
  const store = await Store.open(layout);
  const stop = () => {
    const controller = new AbortController();
    const reason = new Error('the test stops it');
    return { signal: controller.signal, reason, onProgress: ({ bytes }: { bytes: number }) => bytes > 0 && controller.abort(reason) };
  };
  const first = stop();
  await aborted(t, unpack({ store, image: 'large' }, path.join(dir, 'rootfs'), { signal: first.signal, onProgress: first.onProgress }), first.reason);
  const second = stop();
  await aborted(t, createBundle({ store, image: 'large' }, path.join(dir, 'bundle'), { signal: second.signal, onProgress: second.onProgress }), second.reason);
  t.deepEqual(readdirSync(dir), ['bundle']);
  t.deepEqual(readdirSync(path.join(dir, 'bundle')), []);
});

serial('save: aborted mid-archive, no archive and no temp file; load: aborted mid-read, the store as it was', async (t) => {
  const { dir, remove } = tempDir('archives');
  t.teardown(remove);
  const source = await Store.open(layout);
  const saving = abortOn((event) => event.type === 'bytes');
  await aborted(t, save(source, ['large'], path.join(dir, 'large.tar'), saving), saving.reason);
  t.deepEqual(readdirSync(dir), []);

  await save(source, ['large'], path.join(dir, 'large.tar'));
  const { dir: storeDir, store } = await emptyStore(t);
  const before = snapshotStore(storeDir);
  const loading = abortOn((event) => event.type === 'read');
  await aborted(t, load(store, path.join(dir, 'large.tar'), loading), loading.reason);
  t.deepEqual(snapshotStore(storeDir), before);
  const copying = abortOn((event) => event.type === 'bytes');
  await aborted(
    t,
    copy(`oci-archive:${path.join(dir, 'large.tar')}`, `oci-archive:${path.join(dir, 'copy.tar')}`, { signal: copying.signal, onProgress: copying.onProgress }),
    copying.reason,
  );
  t.false(existsSync(path.join(dir, 'copy.tar')));
  t.deepEqual(readdirSync(dir), ['large.tar']);
});

serial('an operation given a signal that fired already starts nothing', async (t) => {
  const { dir, store } = await emptyStore(t);
  const before = snapshotStore(dir);
  const reason = new Error('before it began');
  const signal = AbortSignal.abort(reason);
  for (const operation of [
    pull(store, `${registry.host}/library/busybox`, { ...options, signal }),
    unpack({ store, image: 'latest' }, path.join(dir, 'rootfs'), { signal }),
    copy(`docker://${registry.host}/library/busybox`, 'x:1', { ...options, store, signal }),
    load(store, path.join(layout, 'index.json'), { signal }),
  ]) {
    await aborted(t, operation, reason);
  }
  t.deepEqual(snapshotStore(dir), before);
});
