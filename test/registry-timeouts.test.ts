/**
 * How long `oci pull` and `oci push` wait on a registry that does not answer, or answers too
 * slowly or too much: `--timeout` bounds each step's wait for progress, retries included (see
 * packages/image/src/registry/deadline.ts). The faults come from the proxy in front of the real
 * registry; where skopeo has the behaviour (its --command-timeout bounds the whole command), it
 * meets the same fault in the same test. Times are checked only against generous upper bounds.
 */
import test from 'ava';
import { busyboxImage, busyboxLayerDigest } from './harness/busybox.js';
import { ociBin } from './harness/cli.js';
import { type FaultProxy, startFaultProxy } from './harness/fault-proxy.js';
import { type BuiltImage, pushLayout, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { type Outcome, run } from './harness/run.js';
import { snapshotStore } from './harness/store.js';
import { tempDir } from './harness/tmp.js';

// The proxy's faults are shared: these tests run one at a time.
const serial = test.serial;

let registry: Registry;
let proxy: FaultProxy;
let image: BuiltImage;
let layer: string;

test.before(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  image = await busyboxImage();
  layer = busyboxLayerDigest(image);
  const layout = tempDir('layout');
  writeLayout(layout.dir, { latest: image });
  pushLayout(layout.dir, 'latest', `${registry.host}/library/busybox:latest`);
  layout.remove();
});
test.after.always(async () => {
  await proxy?.stop();
  await registry?.stop();
});
test.afterEach.always(() => {
  proxy.faults.length = 0;
});

const env = { ...process.env, OCI_REGISTRY_MIRRORS: '', HOME: '/nonexistent' };

function storeDir(t: { teardown(fn: () => void): void }): string {
  const { dir, remove } = tempDir('store');
  t.teardown(remove);
  return dir;
}

/** Runs a program to its end (asynchronously: this process serves the proxy); how long it took, in seconds. */
async function timed(command: string, args: readonly string[]): Promise<Outcome & { seconds: number }> {
  const start = process.hrtime.bigint();
  const outcome = await run(command, args, { env, timeout: 90_000 });
  return { ...outcome, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

const ociPull = (store: string, ...args: string[]) => timed(ociBin, ['--store', store, 'pull', ...args, `${proxy.host}/library/busybox`]);
const skopeoInspect = (seconds: number) =>
  timed('skopeo', ['inspect', '--command-timeout', `${seconds}s`, '--tls-verify=false', `docker://${proxy.host}/library/busybox`]);

serial(
  'a registry that accepts connections and never answers: oci pull --timeout 2 gives up in under 6 s with one line; so does skopeo --command-timeout 2s',
  async (t) => {
    const store = storeDir(t);
    t.is((await timed(ociBin, ['--store', store, 'gc'])).status, 0, 'the store is made');
    const before = snapshotStore(store);
    proxy.faults.push({ path: /./, action: { hang: true } });

    const pulled = await ociPull(store, '--timeout', '2');
    t.is(pulled.status, 1);
    t.is(pulled.stderr, `oci: pull ${proxy.host}/library/busybox: no answer from ${proxy.host} in 2 s (GET /v2/library/busybox/manifests/latest)\n`);
    t.true(pulled.seconds < 6, `gave up after ${pulled.seconds} s`);
    t.deepEqual(snapshotStore(store), before);

    const skopeo = await skopeoInspect(2);
    t.not(skopeo.status, 0);
    t.true(skopeo.seconds < 6, `skopeo gave up after ${skopeo.seconds} s`);
  },
);

serial('oci push --timeout 2 to a registry that never answers gives up in under 6 s; so does skopeo copy --command-timeout 2s', async (t) => {
  const store = storeDir(t);
  t.is((await timed(ociBin, ['--store', store, 'pull', '--quiet', `${registry.host}/library/busybox`])).status, 0);
  proxy.faults.push({ path: /./, action: { hang: true } });
  const target = `${proxy.host}/library/copy:1`;

  const pushed = await timed(ociBin, ['--store', store, 'push', '--timeout', '2', `${registry.host}/library/busybox`, target]);
  t.is(pushed.status, 1);
  // The first request finds out that the loopback registry speaks plain HTTP: a blob's HEAD.
  t.regex(
    pushed.stderr,
    new RegExp(`^oci: push ${registry.host}/library/busybox: no answer from ${proxy.host} in 2 s \\(HEAD /v2/library/copy/blobs/sha256:[0-9a-f]{64}\\)\n$`),
  );
  t.true(pushed.seconds < 6, `gave up after ${pushed.seconds} s`);

  const skopeo = await timed('skopeo', [
    'copy',
    '--command-timeout',
    '2s',
    '--dest-tls-verify=false',
    `oci:${store}:${registry.host}/library/busybox:latest`,
    `docker://${target}`,
  ]);
  t.not(skopeo.status, 0);
  t.true(skopeo.seconds < 6, `skopeo gave up after ${skopeo.seconds} s`);
});

serial(
  'a manifest that trickles in a byte every 500 ms fails once --timeout 2 has passed, though bytes keep coming; skopeo --command-timeout 2s too',
  async (t) => {
    const store = storeDir(t);
    proxy.faults.push({ path: /\/manifests\//, action: { trickle: 500 } });

    const pulled = await ociPull(store, '--timeout', '2');
    t.is(
      pulled.stderr,
      `oci: pull ${proxy.host}/library/busybox: ${proxy.host} did not send all of its answer in 2 s (GET /v2/library/busybox/manifests/latest)\n`,
    );
    t.true(pulled.seconds < 6, `gave up after ${pulled.seconds} s`);

    const skopeo = await skopeoInspect(2);
    t.not(skopeo.status, 0);
    t.true(skopeo.seconds < 6, `skopeo gave up after ${skopeo.seconds} s`);
  },
);

serial('a manifest whose Content-Length claims 2 GiB is refused at its headers, long before --timeout', async (t) => {
  const store = storeDir(t);
  proxy.faults.push({ path: /\/manifests\//, action: { trickle: 2000, headers: { 'content-length': String(2 ** 31) } } });
  const pulled = await ociPull(store, '--timeout', '30');
  t.is(pulled.stderr, `oci: pull ${proxy.host}/library/busybox: manifest ${proxy.host}/library/busybox:latest is 2147483648 bytes, more than 4194304\n`);
  t.true(pulled.seconds < 10, `gave up after ${pulled.seconds} s`);
});

serial('a manifest without end is refused once it passes 4 MiB; skopeo refuses it too, before its --command-timeout', async (t) => {
  const store = storeDir(t);
  proxy.faults.push({ path: /\/manifests\//, action: { endless: true } });
  const pulled = await ociPull(store, '--timeout', '30');
  t.is(pulled.stderr, `oci: pull ${proxy.host}/library/busybox: manifest ${proxy.host}/library/busybox:latest is larger than 4194304 bytes\n`);
  t.true(pulled.seconds < 10, `gave up after ${pulled.seconds} s`);

  const skopeo = await skopeoInspect(30);
  t.not(skopeo.status, 0);
  t.true(skopeo.seconds < 10, `skopeo gave up after ${skopeo.seconds} s`);
});

serial('a blob that stalls after its headers fails once --timeout 2 has passed, storing nothing; skopeo --command-timeout 2s too', async (t) => {
  const store = storeDir(t);
  t.is((await timed(ociBin, ['--store', store, 'gc'])).status, 0, 'the store is made');
  const before = snapshotStore(store);
  proxy.faults.push({ path: new RegExp(`/blobs/${layer}$`), action: { stall: 0 } });

  const pulled = await ociPull(store, '--timeout', '2');
  t.is(pulled.stderr, `oci: pull ${proxy.host}/library/busybox: ${proxy.host} sent nothing for 2 s (GET /v2/library/busybox/blobs/${layer})\n`);
  t.true(pulled.seconds < 6, `gave up after ${pulled.seconds} s`);
  t.deepEqual(snapshotStore(store), before);

  const { dir, remove } = tempDir('skopeo');
  t.teardown(remove);
  const skopeo = await timed('skopeo', [
    'copy',
    '--command-timeout',
    '2s',
    '--src-tls-verify=false',
    `docker://${proxy.host}/library/busybox`,
    `oci:${dir}:busybox`,
  ]);
  t.not(skopeo.status, 0);
  t.true(skopeo.seconds < 6, `skopeo gave up after ${skopeo.seconds} s`);
});
