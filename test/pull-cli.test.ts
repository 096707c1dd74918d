/**
 * `oci pull` as a user runs it: mirrors from the environment, what it prints, how it fails, how
 * it shares a store with other pulls and with skopeo and umoci, and what kill -9 leaves.
 */

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { MediaType, readImage, Store } from '@oci/image';
import test from 'ava';
import { busyboxImage, busyboxLayerDigest } from './harness/busybox.js';
import { oci, ociAsync, ociBin, ociFrontDoor } from './harness/cli.js';
import { type FaultProxy, startFaultProxy } from './harness/fault-proxy.js';
import { type BuiltImage, buildImage, buildIndex, pushLayout, sha256, tarLayer, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { refNames, snapshotStore } from './harness/store.js';
import { tempDir } from './harness/tmp.js';

let registry: Registry;
let image: BuiltImage;
let layer: string;
let arm: BuiltImage;
/** Its second layer has a media type no unpacker knows. */
let strange: BuiltImage;
/** A Helm chart: an OCI artifact, not a container image. */
let chart: BuiltImage;
/** Its layer is non-distributable, and in the registry all the same. */
let nondistributable: BuiltImage;

const STRANGE_LAYER = 'application/vnd.example.layer.v1.tar+lz4';
const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json';

test.before(async () => {
  registry = await startRegistry();
  image = await busyboxImage();
  layer = busyboxLayerDigest(image);
  arm = buildImage([await tarLayer([{ path: 'arm', content: 'arm64' }])], { architecture: 'arm64', os: 'linux', variant: 'v8' });
  const files = [await tarLayer([{ path: 'a', content: 'a' }]), await tarLayer([{ path: 'b', content: 'b' }])];
  strange = buildImage(files, undefined, (tar, i) => ({ data: gzipSync(tar), mediaType: i === 1 ? STRANGE_LAYER : MediaType.ociLayerGzip }));
  chart = helmChart();
  nondistributable = buildImage(files.slice(0, 1), { architecture: 'amd64', os: 'linux', config: { Cmd: ['/a'] } }, (tar) => ({
    data: gzipSync(tar),
    mediaType: MediaType.ociLayerNondistributableGzip,
  }));
  const layout = tempDir('layout');
  writeLayout(layout.dir, { latest: image, multi: buildIndex([image, arm]), strange, chart, nondistributable });
  pushLayout(layout.dir, 'latest', `${registry.host}/library/busybox:latest`);
  pushLayout(layout.dir, 'multi', `${registry.host}/library/multi:latest`);
  for (const name of ['strange', 'chart', 'nondistributable']) pushLayout(layout.dir, name, `${registry.host}/library/${name}:latest`);
  layout.remove();
});

function helmChart(): BuiltImage {
  const blobs = new Map<string, Buffer>();
  const add = (data: Buffer, mediaType: string) => {
    blobs.set(sha256(data), data);
    return { mediaType, digest: sha256(data), size: data.length };
  };
  const config = add(Buffer.from('{"name":"chart","version":"1.0.0","apiVersion":"v2"}'), HELM_CONFIG);
  const content = add(gzipSync(Buffer.from('chart')), 'application/vnd.cncf.helm.chart.content.v1.tar+gzip');
  const manifest = add(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [content] })), MediaType.ociManifest);
  return { manifest, config: {} as BuiltImage['config'], blobs };
}
test.after.always(async () => {
  await registry?.stop();
});

function storeDir(t: { teardown(fn: () => void): void }): string {
  const { dir, remove } = tempDir('store');
  t.teardown(remove);
  return dir;
}

const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, OCI_REGISTRY_MIRRORS: '', HOME: '/nonexistent', ...extra });

test('OCI_REGISTRY_MIRRORS=docker.io=… oci pull busybox stores docker.io/library/busybox:latest and prints only its digest', (t) => {
  const store = storeDir(t);
  const result = oci(['--store', store, 'pull', 'busybox'], { env: env({ OCI_REGISTRY_MIRRORS: `docker.io=http://${registry.host}` }) });
  t.is(result.stderr, '');
  t.is(result.status, 0);
  t.is(result.stdout, `${image.manifest.digest}\n`);
  t.deepEqual(refNames(store), ['docker.io/library/busybox:latest']);
});

test('mirrors also come from the config file', (t) => {
  const store = storeDir(t);
  const { dir, remove } = tempDir('config');
  t.teardown(remove);
  const config = path.join(dir, 'config.json');
  spawnSync('sh', ['-c', `echo '{"mirrors":{"docker.io":["http://${registry.host}"]}}' > ${config}`]);
  const result = oci(['--store', store, 'pull', 'library/busybox:latest'], { env: env({ OCI_CONFIG: config }) });
  t.is(result.status, 0, result.stderr);
  t.deepEqual(refNames(store), ['docker.io/library/busybox:latest']);
});

test('a config file with a misspelt key or a value of the wrong type is one line naming the file, the key and what was expected', (t) => {
  const store = storeDir(t);
  const { dir, remove } = tempDir('config');
  t.teardown(remove);
  const config = path.join(dir, 'config.json');
  const pullWith = (content: unknown) => {
    writeFileSync(config, JSON.stringify(content));
    return oci(['--store', store, 'pull', `${registry.host}/library/busybox`], { env: env({ OCI_CONFIG: config }) });
  };
  const misspelt = pullWith({ mirors: { 'docker.io': [`http://${registry.host}`] } });
  t.is(misspelt.status, 1);
  t.is(
    misspelt.stderr,
    `oci: pull ${registry.host}/library/busybox: ${config}: unknown key "mirors" (did you mean "mirrors"?): expected "mirrors" or "insecure"\n`,
  );
  t.is(
    pullWith({ insecure: 'host:5000' }).stderr,
    `oci: pull ${registry.host}/library/busybox: ${config}: "insecure" must be a list of registries (host[:port])\n`,
  );
  t.is(
    pullWith({ mirrors: { 'docker.io': 'http://m' } }).stderr,
    `oci: pull ${registry.host}/library/busybox: ${config}: mirrors.docker.io must be a list of URLs\n`,
  );
  t.is(pullWith([]).status, 1);
  t.deepEqual(
    snapshotStore(store).blobs.filter((entry) => entry !== 'sha256'),
    [],
    'nothing fetched',
  );
});

test('a failed pull prints one line naming the command and the reference, and exits 1', (t) => {
  const store = storeDir(t);
  const result = oci(['--store', store, 'pull', `${registry.host}/library/nothing`], { env: env() });
  t.is(result.status, 1);
  t.is(
    result.stderr,
    `oci: pull ${registry.host}/library/nothing: manifest ${registry.host}/library/nothing:latest not found in ${registry.host} (MANIFEST_UNKNOWN: manifest unknown)\n`,
  );
  t.is(result.stdout, '');
});

test('--platform picks the image from a multi-platform index', (t) => {
  const store = storeDir(t);
  const result = oci(['--store', store, 'pull', '--platform', 'linux/arm64/v8', `${registry.host}/library/multi`], { env: env() });
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout, `${arm.manifest.digest}\n`);
  const images = JSON.parse(oci(['--store', store, 'images', '--format', 'json']).stdout) as { ref: string; platform: string; digest: string }[];
  t.deepEqual(
    images.map((i) => [i.ref, i.platform, i.digest]),
    [[`${registry.host}/library/multi:latest`, 'linux/arm64/v8', arm.manifest.digest]],
  );
});

test('--debug logs each registry request: method, URL, status and time', (t) => {
  const store = storeDir(t);
  const result = oci(['--store', store, '--debug', 'pull', `${registry.host}/library/busybox`], { env: env() });
  t.is(result.status, 0, result.stderr);
  const lines = result.stderr.trim().split('\n');
  const base = `http://${registry.host}/v2`;
  t.deepEqual(
    lines.map((line) => line.replace(/ \(\d+ ms\)$/, ' (N ms)')).sort(),
    [
      `oci: debug: GET ${base}/library/busybox/manifests/latest 200 (N ms)`,
      ...[...image.blobs.keys()]
        .filter((digest) => digest !== image.manifest.digest)
        .map((digest) => `oci: debug: GET ${base}/library/busybox/blobs/${digest} 200 (N ms)`),
    ].sort(),
  );
});

test('a malformed reference or platform is a one-line error', (t) => {
  const store = storeDir(t);
  const bad = oci(['--store', store, 'pull', 'Busybox'], { env: env() });
  t.is(bad.status, 1);
  t.is(bad.stderr, "oci: pull Busybox: invalid reference 'Busybox': repository name must be lowercase\n");
  const platform = oci(['--store', store, 'pull', '--platform', 'linux/', 'busybox'], { env: env() });
  t.is(platform.stderr, "oci: pull busybox: invalid platform 'linux/': expected os/arch[/variant]\n");
});

test('--format json prints progress events and ends with the stored name and digest', (t) => {
  const store = storeDir(t);
  const result = oci(['--store', store, 'pull', '--format', 'json', `${registry.host}/library/busybox`], { env: env() });
  t.is(result.status, 0, result.stderr);
  const events = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; digest?: string; name?: string });
  t.is(events[0]!.type, 'resolved');
  t.true(events.some((e) => e.type === 'blob-done' && e.digest === layer));
  t.deepEqual(events.at(-1), { type: 'done', name: `${registry.host}/library/busybox:latest`, digest: image.manifest.digest });
});

test('skopeo and umoci read an image that oci pull stored, by tag and by digest', (t) => {
  const store = storeDir(t);
  const byTag = `${registry.host}/library/busybox:latest`;
  const byDigest = `${registry.host}/library/busybox@${image.manifest.digest}`;
  for (const ref of [byTag, byDigest]) t.is(oci(['--store', store, 'pull', ref], { env: env() }).status, 0);
  const { dir, remove } = tempDir('peers');
  t.teardown(remove);
  for (const [i, ref] of [byTag, byDigest].entries()) {
    const inspect = spawnSync('skopeo', ['inspect', `oci:${store}:${ref}`], { encoding: 'utf8' });
    t.is(inspect.status, 0, inspect.stderr);
    t.is((JSON.parse(inspect.stdout) as { Digest: string }).Digest, image.manifest.digest);
    const copy = spawnSync('skopeo', ['copy', '--quiet', `oci:${store}:${ref}`, `dir:${path.join(dir, `copy${i}`)}`], { encoding: 'utf8' });
    t.is(copy.status, 0, copy.stderr);
    const bundle = path.join(dir, `bundle${i}`);
    const unpack = spawnSync('umoci', ['unpack', '--image', `${store}:${ref}`, bundle], { encoding: 'utf8' });
    t.is(unpack.status, 0, unpack.stderr);
    t.deepEqual(readFileSync(path.join(bundle, 'rootfs', 'bin', 'busybox')), readFileSync('/bin/busybox'));
  }
});

test('oci reads a layout that skopeo wrote', async (t) => {
  const { dir, remove } = tempDir('skopeo-layout');
  t.teardown(remove);
  const copy = spawnSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/library/busybox:latest`, `oci:${dir}:busybox`], {
    encoding: 'utf8',
  });
  t.is(copy.status, 0, copy.stderr);
  const stored = await readImage(await Store.open(dir), 'busybox', { os: 'linux', architecture: 'amd64' });
  t.is(stored.manifest.layers[0]!.digest, layer);
  // And pulls into it: the layout needs no directory of ours to exist first.
  const result = oci(['--store', dir, 'pull', '--format', 'json', `${registry.host}/library/busybox`], { env: env() });
  t.is(result.status, 0, result.stderr);
  t.true(result.stdout.includes('"present":true'));
});

test('concurrent pulls of the same image into one store all succeed and agree', async (t) => {
  const store = storeDir(t);
  const pulls = await Promise.all(
    [0, 1, 2, 3].map(
      () =>
        new Promise<{ status: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [ociBin, '--store', store, 'pull', `${registry.host}/library/busybox`], { env: env() });
          let stderr = '';
          child.stderr.on('data', (chunk) => (stderr += chunk));
          child.on('close', (status) => resolve({ status, stderr }));
        }),
    ),
  );
  t.deepEqual(
    pulls,
    [0, 1, 2, 3].map(() => ({ status: 0, stderr: '' })),
  );
  t.deepEqual(refNames(store), [`${registry.host}/library/busybox:latest`]);
  t.deepEqual(snapshotStore(store).ingest, []);
  t.is(snapshotStore(store).blobs.length, 1 + image.blobs.size);
});

/** `oci pull` through a proxy that notes the requests; the store must be as it was after it. */
async function pullRefused(t: import('ava').ExecutionContext, name: string): Promise<{ stderr: string; blobRequests: string[] }> {
  const store = storeDir(t);
  t.is(oci(['--store', store, 'gc']).status, 0, 'the store is made');
  const before = snapshotStore(store);
  const proxy = await startFaultProxy(registry.url);
  t.teardown(() => proxy.stop());
  const result = await ociAsync(['--store', store, 'pull', `${proxy.host}/library/${name}`], { env: env() });
  t.is(result.status, 1);
  t.deepEqual(snapshotStore(store), before, 'the store is as it was');
  return { stderr: result.stderr.replaceAll(proxy.host, 'HOST'), blobRequests: proxy.requests.filter((r) => r.path.includes('/blobs/')).map((r) => r.path) };
}

test('an image with a layer of a media type oci cannot unpack is refused before any blob is fetched; umoci cannot unpack it either', async (t) => {
  const refused = await pullRefused(t, 'strange');
  const second = JSON.parse(strange.blobs.get(strange.manifest.digest)!.toString()).layers[1] as { digest: string };
  t.is(refused.stderr, `oci: pull HOST/library/strange: layer 2 (${second.digest}) is ${STRANGE_LAYER}, which oci cannot unpack\n`);
  t.deepEqual(refused.blobRequests, []);

  // skopeo copies it as it is (it unpacks nothing); umoci refuses to unpack it.
  const { dir, remove } = tempDir('peers');
  t.teardown(remove);
  const copy = spawnSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/library/strange`, `oci:${dir}/layout:strange`], {
    encoding: 'utf8',
  });
  t.is(copy.status, 0, copy.stderr);
  const unpack = spawnSync('umoci', ['unpack', '--image', `${dir}/layout:strange`, `${dir}/bundle`], { encoding: 'utf8' });
  t.not(unpack.status, 0);
});

test('an artifact (a Helm chart) is refused as not a container image, before any blob is fetched', async (t) => {
  const refused = await pullRefused(t, 'chart');
  t.is(refused.stderr, `oci: pull HOST/library/chart: not a container image: its config is ${HELM_CONFIG}\n`);
  t.deepEqual(refused.blobRequests, []);
});

test('an image with a non-distributable layer the registry holds is pulled and unpacked', (t) => {
  const store = storeDir(t);
  const pulled = oci(['--store', store, 'pull', `${registry.host}/library/nondistributable`], { env: env() });
  t.is(pulled.status, 0, pulled.stderr);
  const { dir, remove } = tempDir('bundle');
  t.teardown(remove);
  const unpacked = oci(['--store', store, 'unpack', `${registry.host}/library/nondistributable`, path.join(dir, 'b')], { env: env() });
  t.is(unpacked.status, 0, unpacked.stderr);
  t.is(readFileSync(path.join(dir, 'b', 'rootfs', 'a'), 'utf8'), 'a');
});

test('a pull killed with SIGKILL mid-download leaves a store the next pull and gc repair', async (t) => {
  const store = storeDir(t);
  const proxy: FaultProxy = await startFaultProxy(registry.url);
  t.teardown(() => proxy.stop());
  proxy.faults.push({ path: new RegExp(`/blobs/${layer}$`), action: { stall: 200_000 } });
  const child = spawn(process.execPath, [ociBin, '--store', store, 'pull', `${proxy.host}/library/busybox`], { env: env(), stdio: 'ignore' });
  const partial = () =>
    existsSync(path.join(store, 'ingest')) && readdirSync(path.join(store, 'ingest'), { recursive: true }).some((f) => String(f).endsWith('.partial'));
  for (let i = 0; i < 200 && !partial(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  t.true(partial(), 'the pull was mid-download');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;

  proxy.faults.length = 0;
  const again = await ociAsync(['--store', store, 'pull', `${proxy.host}/library/busybox`], { env: env() });
  t.is(again.status, 0, again.stderr);
  const gc = oci(['--store', store, 'gc'], { env: env() });
  t.is(gc.status, 0, gc.stderr);
  t.deepEqual(snapshotStore(store).ingest, [], 'gc removed what the killed pull left');
  const stored = await readImage(await Store.open(store), `${proxy.host}/library/busybox:latest`, { os: 'linux', architecture: 'amd64' });
  t.is(stored.descriptor.digest, image.manifest.digest);
});

test('each blob is on disk (fdatasync) before it is renamed into blobs/, and index.json is renamed after them all', (t) => {
  // Resolved: strace -y names a synced file by its real path, a rename by the path it was given.
  const store = realpathSync(storeDir(t));
  const log = path.join(store, '..', `${path.basename(store)}.strace`);
  t.teardown(() => rmSync(log, { force: true }));
  const traced = spawnSync(
    'strace',
    [
      '-f',
      '-qq',
      '-y',
      '-e',
      'trace=fsync,fdatasync,rename,renameat,renameat2',
      '-o',
      log,
      ociFrontDoor,
      '--store',
      store,
      'pull',
      `${registry.host}/library/busybox`,
    ],
    { encoding: 'utf8', env: env() },
  );
  t.is(traced.status, 0, traced.stderr);

  // strace -f splits a call that another thread's call interrupts: "fdatasync(5</path> <unfinished ...>"
  // then "<... fdatasync resumed>) = 0". A file counts as synced once its call has returned 0.
  const synced = new Set<string>();
  const pending = new Map<string, string>(); // pid → the file its sync call is on
  const renames: { from: string; to: string; syncedBefore: boolean }[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const [pid] = line.split(' ', 1);
    const sync = /^\d+ +f(?:data)?sync\(\d+<([^>]+)>\)?(.*)$/.exec(line);
    if (sync) {
      if (sync[2]!.includes('unfinished')) pending.set(pid!, sync[1]!);
      else if (/= 0$/.test(sync[2]!)) synced.add(sync[1]!);
      continue;
    }
    const resumed = /<\.\.\. f(?:data)?sync resumed>.*= 0$/.test(line);
    if (resumed && pending.has(pid!)) synced.add(pending.get(pid!)!);
    const rename = /rename(?:at2?)?\((?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)", (?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)"/.exec(line);
    if (rename) renames.push({ from: rename[1]!, to: rename[2]!, syncedBefore: synced.has(rename[1]!) });
  }
  const intoBlobs = renames.filter(({ to }) => to.includes(`${path.sep}blobs${path.sep}`));
  t.is(intoBlobs.length, image.blobs.size, 'the config, each layer and the manifest were renamed into blobs/');
  t.deepEqual(
    intoBlobs.filter(({ syncedBefore }) => !syncedBefore).map(({ to }) => to),
    [],
    'every blob was synced before its rename',
  );
  const index = renames.find(({ to }) => to === path.join(store, 'index.json'));
  t.true(index !== undefined && renames.indexOf(index) > renames.indexOf(intoBlobs.at(-1)!), 'index.json is renamed after every blob');
  t.true(index?.syncedBefore, 'index.json was synced before its rename');
});

test('a full disk fails the pull with one line and leaves the store as it was', (t) => {
  const { dir, remove } = tempDir('tmpfs');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', dir], { encoding: 'utf8' });
  t.teardown(() => {
    spawnSync('umount', [dir]);
    remove();
  });
  t.is(mounted.status, 0, `mounting a small tmpfs needs root: ${mounted.stderr}`);
  t.is(oci(['--store', dir, 'gc'], { env: env() }).status, 0, 'the store is made');
  const before = snapshotStore(dir);
  const result = oci(['--store', dir, 'pull', `${registry.host}/library/busybox`], { env: env() });
  t.is(result.status, 1);
  t.is(result.stderr, `oci: pull ${registry.host}/library/busybox: no space left on device in ${dir}\n`);
  t.deepEqual(snapshotStore(dir), before);
});

test('on a terminal, oci pull draws a bar per blob with bytes and rate; --quiet draws none', (t) => {
  const store = storeDir(t);
  const onTerminal = (args: string) =>
    spawnSync('script', ['-qec', `${process.execPath} ${ociBin} --store ${store} pull ${args}`, '/dev/null'], {
      encoding: 'utf8',
      env: env({ COLUMNS: '120' }),
    }).stdout;
  const drawn = onTerminal(`${registry.host}/library/busybox`);
  t.regex(drawn, new RegExp(`${layer.slice(7, 19)} \\[=+\\] 1\\.1 MB / 1\\.1 MB +[\\d.]+ [kMG]?B/s`));
  t.regex(drawn, new RegExp(`${image.manifest.digest}\\r?\\n$`));
  const quiet = onTerminal(`--quiet ${registry.host}/library/busybox`);
  t.is(quiet.replace(/\r/g, ''), `${image.manifest.digest}\n`);
});

test('oci images, inspect, rmi and gc', (t) => {
  const store = storeDir(t);
  const ref = `${registry.host}/library/busybox:latest`;
  t.is(oci(['--store', store, 'pull', ref], { env: env() }).status, 0);
  const table = oci(['--store', store, 'images']).stdout.split('\n');
  t.regex(table[0]!, /^REF +ID +DIGEST +PLATFORM +SIZE +CREATED$/);
  t.regex(table[1]!, new RegExp(`^${ref} +[0-9a-f]{12} +${image.manifest.digest.slice(7, 19)} +linux/amd64 +1\\.1 MB +2024-01-01T00:00:00Z$`));

  const inspect = JSON.parse(oci(['--store', store, 'inspect', `${registry.host}/library/busybox`]).stdout) as {
    Name: string;
    Digest: string;
    Config: { Cmd: string[] };
    Manifest: { layers: { digest: string }[] };
  };
  t.is(inspect.Name, ref, 'inspect finds the image by its short reference');
  t.is(inspect.Digest, image.manifest.digest);
  t.deepEqual(inspect.Config.Cmd, ['sh']);
  t.is(inspect.Manifest.layers[0]!.digest, layer);

  t.is(oci(['--store', store, 'gc']).stdout, 'removed 0 blobs and 0 snapshots, 0.0 MB\n');
  t.is(oci(['--store', store, 'rmi', `${registry.host}/library/busybox`]).stdout, `removed ${ref}\n`);
  t.is(oci(['--store', store, 'images']).stdout, 'REF  ID  DIGEST  PLATFORM  SIZE  CREATED\n');
  t.is(oci(['--store', store, 'gc']).stdout, 'removed 3 blobs and 0 snapshots, 1.1 MB\n');
  t.deepEqual(snapshotStore(store).blobs, ['sha256']);
  const missing = oci(['--store', store, 'inspect', 'busybox']);
  t.is(missing.stderr, 'oci: inspect busybox: no image named busybox in the store\n');
});
