/**
 * `oci import`: docker save archives (the legacy layout and the OCI layout Docker 25+ writes),
 * and docker export archives as a bundle or an image, laid out as moby's image/spec says and
 * built here with the project's own tar writer; each ends up running under runc.
 */
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { busyboxEntries, busyboxLayer } from './harness/busybox.js';
import { oci } from './harness/cli.js';
import { buildImage, sha256, tarLayer, type TarEntry } from './harness/images.js';
import { runcRun } from './harness/runc.js';
import { refNames } from './harness/store.js';
import { tempDir } from './harness/tmp.js';

let busybox: Buffer;
test.before(async () => {
  busybox = await busyboxLayer();
});

const hex = (digest: string) => digest.slice('sha256:'.length);
const config = (cmd: string[], diffIds: string[]) => Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: cmd, Env: ['PATH=/bin'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));

function workspace(t: { teardown(fn: () => void): void }) {
  const store = tempDir('store');
  const work = tempDir('work');
  t.teardown(store.remove);
  t.teardown(work.remove);
  const run = (args: string[]) => oci(['--store', store.dir, ...args], { cwd: work.dir, env: { ...process.env, HOME: '/nonexistent' } });
  return { store: store.dir, dir: work.dir, run };
}

/** `docker save busybox:latest busybox:echo` before Docker 25: one directory per layer, manifest.json, repositories. */
async function legacySave(): Promise<Buffer> {
  const extra = await tarLayer([{ path: 'etc/', type: 'directory' }, { path: 'etc/motd', content: 'saved by docker\n' }]);
  const [id1, id2] = [sha256('layer one id'), sha256('layer two id')].map(hex);
  const latest = config(['sh', '-c', 'cat /etc/hostname'], [sha256(busybox)]);
  const echo = config(['sh', '-c', 'cat /etc/motd'], [sha256(busybox), sha256(extra)]);
  const entries: TarEntry[] = [
    { path: `${id1}/`, type: 'directory' },
    { path: `${id1}/VERSION`, content: '1.0' },
    { path: `${id1}/json`, content: JSON.stringify({ id: id1 }) },
    { path: `${id1}/layer.tar`, content: busybox },
    { path: `${id2}/`, type: 'directory' },
    { path: `${id2}/VERSION`, content: '1.0' },
    { path: `${id2}/json`, content: JSON.stringify({ id: id2, parent: id1 }) },
    { path: `${id2}/layer.tar`, content: extra },
    { path: `${hex(sha256(latest))}.json`, content: latest },
    { path: `${hex(sha256(echo))}.json`, content: echo },
    {
      path: 'manifest.json',
      content: JSON.stringify([
        { Config: `${hex(sha256(latest))}.json`, RepoTags: ['busybox:latest'], Layers: [`${id1}/layer.tar`] },
        { Config: `${hex(sha256(echo))}.json`, RepoTags: ['example.com/tools/echo:1', 'echo:latest'], Layers: [`${id1}/layer.tar`, `${id2}/layer.tar`] },
      ]),
    },
    { path: 'repositories', content: JSON.stringify({ busybox: { latest: id1 } }) },
  ];
  return tarLayer(entries);
}

/** `docker save` since Docker 25: an OCI image layout with manifest.json beside it. */
async function ociSave(): Promise<Buffer> {
  const image = buildImage([busybox], { architecture: 'amd64', os: 'linux', config: { Cmd: ['echo', 'from an OCI layout'] } }, (tar) => ({ data: tar, mediaType: 'application/vnd.oci.image.layer.v1.tar' }));
  const manifest = JSON.parse(image.blobs.get(image.manifest.digest)!.toString());
  const entries: TarEntry[] = [
    { path: 'blobs/', type: 'directory' },
    { path: 'blobs/sha256/', type: 'directory' },
    ...[...image.blobs].map(([digest, data]): TarEntry => ({ path: `blobs/sha256/${hex(digest)}`, content: data })),
    { path: 'index.json', content: JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...image.manifest, annotations: { 'io.containerd.image.name': 'docker.io/library/hello:oci', 'org.opencontainers.image.ref.name': 'oci' } }] }) },
    { path: 'manifest.json', content: JSON.stringify([{ Config: `blobs/sha256/${hex(manifest.config.digest)}`, RepoTags: ['hello:oci'], Layers: manifest.layers.map((l: { digest: string }) => `blobs/sha256/${hex(l.digest)}`) }]) },
    { path: 'oci-layout', content: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
  ];
  return tarLayer(entries);
}

test('a legacy docker save archive: every image and tag lands in the store, and runs', async (t) => {
  const { dir, store, run } = workspace(t);
  writeFileSync(path.join(dir, 'save.tar'), await legacySave());
  const imported = run(['import', 'save.tar']);
  t.is(imported.status, 0, imported.stderr);
  t.regex(imported.stdout, /^docker\.io\/library\/busybox:latest sha256:[0-9a-f]{64}\nexample\.com\/tools\/echo:1 docker\.io\/library\/echo:latest sha256:[0-9a-f]{64}\n$/);
  t.deepEqual(refNames(store).sort(), ['docker.io/library/busybox:latest', 'docker.io/library/echo:latest', 'example.com/tools/echo:1']);
  t.is(run(['unpack', 'example.com/tools/echo:1', 'echo']).status, 0);
  t.is(runcRun(path.join(dir, 'echo')).stdout, 'saved by docker\n');
  t.is(run(['unpack', 'busybox', 'bb']).status, 0);
  t.is(runcRun(path.join(dir, 'bb')).stdout, 'busybox\n');
});

test('a docker save archive holding an OCI layout keeps its manifests and names', async (t) => {
  const { dir, store, run } = workspace(t);
  writeFileSync(path.join(dir, 'save.tar'), await ociSave());
  t.is(run(['import', 'save.tar']).status, 0);
  t.deepEqual(refNames(store), ['docker.io/library/hello:oci']);
  t.is(run(['unpack', 'hello:oci', 'b']).status, 0);
  t.is(runcRun(path.join(dir, 'b')).stdout, 'from an OCI layout\n');
});

test('import REF renames the one image of an archive; several images need their tags', async (t) => {
  const { dir, store, run } = workspace(t);
  writeFileSync(path.join(dir, 'oci.tar'), await ociSave());
  t.is(run(['import', 'oci.tar', 'mine/hello:v1']).status, 0);
  t.deepEqual(refNames(store), ['docker.io/mine/hello:v1']);
  writeFileSync(path.join(dir, 'legacy.tar'), await legacySave());
  const refused = run(['import', 'legacy.tar', 'one:name']);
  t.is(refused.status, 1);
  t.regex(refused.stderr, /^oci: import .*legacy\.tar: .*holds 2 images: a REF can name only one\n$/);
});

test('archives that are not docker save ones: one line, non-zero, the store unchanged', async (t) => {
  const { dir, store, run } = workspace(t);
  writeFileSync(path.join(dir, 'plain.tar'), await tarLayer([{ path: 'hello', content: 'x' }]));
  writeFileSync(path.join(dir, 'junk.tar'), 'this is not a tar archive at all'.repeat(40));
  const legacy = await legacySave();
  writeFileSync(path.join(dir, 'cut.tar'), legacy.subarray(0, legacy.length - 30000));
  for (const [file, pattern] of [
    ['plain.tar', /not a docker save archive: no manifest\.json and no OCI layout/],
    ['junk.tar', /invalid tar header checksum/],
    ['cut.tar', /truncated tar archive/],
  ] as const) {
    const result = run(['import', file]);
    t.is(result.status, 1, file);
    t.regex(result.stderr, new RegExp(`^oci: import .*${file.replace('.', '\\.')}: .*${pattern.source}.*\\n$`));
    t.deepEqual(refNames(store), [], file);
  }
});

/** `docker export`: the container's filesystem, flat, with the file Docker adds. */
function exported(): Promise<Buffer> {
  return tarLayer([
    ...busyboxEntries(),
    { path: '.dockerenv', content: '' },
    { path: 'data/', type: 'directory', mode: 0o777 },
    { path: 'data/note', content: 'exported\n', uid: 1, gid: 1 },
  ]);
}

test('docker export → a bundle with --cmd, --env, --workdir and --user, ready for runc', async (t) => {
  const { dir, run } = workspace(t);
  writeFileSync(path.join(dir, 'export.tar'), await exported());
  const result = run(['import', '--export', 'export.tar', '--bundle', 'b', '--cmd', '["sh","-c","echo $WHO $(id -u) $(pwd); cat note"]', '--env', 'WHO=daemon', '--workdir', '/data', '--user', 'daemon']);
  t.is(result.status, 0, result.stderr);
  t.deepEqual(readdirSync(path.join(dir, 'b')).sort(), ['config.json', 'rootfs']);
  t.is(readFileSync(path.join(dir, 'b/rootfs/data/note'), 'utf8'), 'exported\n');
  const ran = runcRun(path.join(dir, 'b'));
  t.is(ran.status, 0, ran.stderr);
  t.is(ran.stdout, 'daemon 1 /data\nexported\n');
});

test('docker export → an image in the store, unpacked and run like any other', async (t) => {
  const { dir, store, run } = workspace(t);
  writeFileSync(path.join(dir, 'export.tar'), await exported());
  t.is(run(['import', '--export', 'export.tar', 'exported:v1', '--cmd', 'cat /data/note']).status, 0);
  t.deepEqual(refNames(store), ['docker.io/library/exported:v1']);
  t.is(run(['unpack', 'exported:v1', 'b']).status, 0);
  t.is(runcRun(path.join(dir, 'b')).stdout, 'exported\n');
  const bad = run(['import', '--export', 'missing.tar', 'x']);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /^oci: import .*missing\.tar: .*no such file\n$/);
});
