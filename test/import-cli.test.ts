/**
 * `oci import`: docker save archives (the legacy layout and the OCI layout Docker 25+ writes),
 * and docker export archives as a bundle or an image, laid out as moby's image/spec says and
 * built here with the project's own tar writer; each ends up running under runc.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { busyboxEntries, busyboxLayer } from './harness/busybox.js';
import { oci, ociBin } from './harness/cli.js';
import { type BuiltImage, buildImage, buildIndex, sha256, type TarEntry, tarLayer, writeLayout } from './harness/images.js';
import { runcRun } from './harness/runc.js';
import { refNames, snapshotStore } from './harness/store.js';
import { tempDir } from './harness/tmp.js';

let busybox: Buffer;
test.before(async () => {
  busybox = await busyboxLayer();
});

const hex = (digest: string) => digest.slice('sha256:'.length);
const config = (cmd: string[], diffIds: string[]) =>
  Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: cmd, Env: ['PATH=/bin'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));

function workspace(t: { teardown(fn: () => void): void }) {
  const store = tempDir('store');
  const work = tempDir('work');
  t.teardown(store.remove);
  t.teardown(work.remove);
  const run = (args: string[], input?: Buffer) =>
    oci(['--store', store.dir, ...args], { cwd: work.dir, env: { ...process.env, HOME: '/nonexistent' }, ...(input && { input }) });
  /** On a terminal (util-linux script): what the terminal shows. */
  const onTerminal = (args: string[]) =>
    spawnSync('script', ['-qec', [process.execPath, ociBin, '--store', store.dir, ...args].join(' '), '/dev/null'], {
      cwd: work.dir,
      encoding: 'utf8',
      env: { ...process.env, COLUMNS: '120' },
    }).stdout;
  return { store: store.dir, dir: work.dir, run, onTerminal };
}

/** `docker save busybox:latest busybox:echo` before Docker 25: one directory per layer, manifest.json, repositories. */
async function legacySave(): Promise<Buffer> {
  const extra = await tarLayer([
    { path: 'etc/', type: 'directory' },
    { path: 'etc/motd', content: 'saved by docker\n' },
  ]);
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
  const image = buildImage([busybox], { architecture: 'amd64', os: 'linux', config: { Cmd: ['echo', 'from an OCI layout'] } }, (tar) => ({
    data: tar,
    mediaType: 'application/vnd.oci.image.layer.v1.tar',
  }));
  const manifest = JSON.parse(image.blobs.get(image.manifest.digest)!.toString());
  const entries: TarEntry[] = [
    { path: 'blobs/', type: 'directory' },
    { path: 'blobs/sha256/', type: 'directory' },
    ...[...image.blobs].map(([digest, data]): TarEntry => ({ path: `blobs/sha256/${hex(digest)}`, content: data })),
    {
      path: 'index.json',
      content: JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { ...image.manifest, annotations: { 'io.containerd.image.name': 'docker.io/library/hello:oci', 'org.opencontainers.image.ref.name': 'oci' } },
        ],
      }),
    },
    {
      path: 'manifest.json',
      content: JSON.stringify([
        {
          Config: `blobs/sha256/${hex(manifest.config.digest)}`,
          RepoTags: ['hello:oci'],
          Layers: manifest.layers.map((l: { digest: string }) => `blobs/sha256/${hex(l.digest)}`),
        },
      ]),
    },
    { path: 'oci-layout', content: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
  ];
  return tarLayer(entries);
}

test('a legacy docker save archive: every image and tag lands in the store, and runs', async (t) => {
  const { dir, store, run } = workspace(t);
  writeFileSync(path.join(dir, 'save.tar'), await legacySave());
  const imported = run(['import', 'save.tar']);
  t.is(imported.status, 0, imported.stderr);
  t.regex(
    imported.stdout,
    /^docker\.io\/library\/busybox:latest sha256:[0-9a-f]{64}\nexample\.com\/tools\/echo:1 docker\.io\/library\/echo:latest sha256:[0-9a-f]{64}\n$/,
  );
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
  t.regex(refused.stderr, /^oci: import .*legacy\.tar: .*holds 2 images: a name can be given to one only\n$/);
});

test('archives that are not docker save ones: one line, non-zero, the store unchanged', async (t) => {
  const { dir, store, run } = workspace(t);
  writeFileSync(path.join(dir, 'plain.tar'), await tarLayer([{ path: 'hello', content: 'x' }]));
  writeFileSync(path.join(dir, 'junk.tar'), 'this is not a tar archive at all'.repeat(40));
  const legacy = await legacySave();
  writeFileSync(path.join(dir, 'cut.tar'), legacy.subarray(0, legacy.length - 30000));
  writeFileSync(
    path.join(dir, 'tags.tar'),
    await tarLayer([{ path: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: 'busybox', Layers: [] }]) }]),
  );
  writeFileSync(
    path.join(dir, 'index.tar'),
    await tarLayer([
      { path: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { path: 'index.json', content: '{"schemaVersion":2,"manifests":[null]}' },
    ]),
  );
  for (const [file, pattern] of [
    ['tags.tar', /manifest\.json in .* is not a list of images \(Config, Layers, RepoTags\)/],
    ['index.tar', /index\.json in .* is malformed: manifests\[0\] is not a descriptor/],
    [
      'plain.tar',
      /holds no image: no manifest\.json and no OCI layout: if it is a filesystem, as docker export writes, import it with oci import --export plain\.tar REF/,
    ],
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
function exportedFilesystem(): Promise<Buffer> {
  return tarLayer([
    ...busyboxEntries(),
    { path: '.dockerenv', content: '' },
    { path: 'data/', type: 'directory', mode: 0o777 },
    { path: 'data/note', content: 'exported\n', uid: 1, gid: 1 },
  ]);
}

test('docker export → a bundle with --cmd, --env, --workdir and --user, ready for runc', async (t) => {
  const { dir, run } = workspace(t);
  writeFileSync(path.join(dir, 'export.tar'), await exportedFilesystem());
  const result = run([
    'import',
    '--export',
    'export.tar',
    '--bundle',
    'b',
    '--cmd',
    '["sh","-c","echo $WHO $(id -u) $(pwd); cat note"]',
    '--env',
    'WHO=daemon',
    '--workdir',
    '/data',
    '--user',
    'daemon',
  ]);
  t.is(result.status, 0, result.stderr);
  t.deepEqual(readdirSync(path.join(dir, 'b')).sort(), ['config.json', 'rootfs']);
  t.is(readFileSync(path.join(dir, 'b/rootfs/data/note'), 'utf8'), 'exported\n');
  const ran = runcRun(path.join(dir, 'b'));
  t.is(ran.status, 0, ran.stderr);
  t.is(ran.stdout, 'daemon 1 /data\nexported\n');
});

test('docker export → an image in the store, unpacked and run like any other', async (t) => {
  const { dir, store, run } = workspace(t);
  writeFileSync(path.join(dir, 'export.tar'), await exportedFilesystem());
  t.is(run(['import', '--export', 'export.tar', 'exported:v1', '--cmd', 'cat /data/note']).status, 0);
  t.deepEqual(refNames(store), ['docker.io/library/exported:v1']);
  t.is(run(['unpack', 'exported:v1', 'b']).status, 0);
  t.is(runcRun(path.join(dir, 'b')).stdout, 'exported\n');
  const bad = run(['import', '--export', 'missing.tar', 'x']);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /^oci: import .*missing\.tar: .*no such file\n$/);
});

test('a gzipped docker save archive, and one on stdin (-), import as the plain one does', async (t) => {
  const { dir, store, run } = workspace(t);
  const archive = await legacySave();
  writeFileSync(path.join(dir, 'save.tar.gz'), gzipSync(archive));
  const gzipped = run(['import', 'save.tar.gz']);
  t.is(gzipped.status, 0, gzipped.stderr);
  t.is(gzipped.stdout.split('\n').length, 3, 'two images');
  const { dir: other, remove } = tempDir('store');
  t.teardown(remove);
  const piped = oci(['--store', other, 'import', '-'], { input: gzipSync(archive) });
  t.is(piped.status, 0, piped.stderr);
  t.is(piped.stdout, gzipped.stdout, 'the same images, the same digests');
  t.deepEqual(refNames(other).sort(), refNames(store).sort());
  const exported = oci(['--store', other, 'import', '--export', '-', 'exported:stdin'], { input: await exportedFilesystem() });
  t.is(exported.status, 0, exported.stderr);
  t.true(refNames(other).includes('docker.io/library/exported:stdin'));
});

test('an oci-archive skopeo wrote imports under its org.opencontainers.image.ref.name', async (t) => {
  const { dir, store, run } = workspace(t);
  writeLayout(path.join(dir, 'layout'), { latest: buildImage([busybox], { architecture: 'amd64', os: 'linux', config: { Cmd: ['true'] } }) });
  const skopeo = spawnSync(
    'skopeo',
    ['copy', '--quiet', `oci:${path.join(dir, 'layout')}:latest`, `oci-archive:${path.join(dir, 'skopeo.tar')}:example.com/skopeo/app:2`],
    { encoding: 'utf8' },
  );
  t.is(skopeo.status, 0, skopeo.stderr);
  const imported = run(['import', 'skopeo.tar']);
  t.is(imported.status, 0, imported.stderr);
  t.regex(imported.stdout, /^example\.com\/skopeo\/app:2 sha256:[0-9a-f]{64}\n$/);
  t.deepEqual(refNames(store), ['example.com/skopeo/app:2']);
});

test('import --export refuses an image archive, as an image and as a bundle: the store and the directory stay as they were', async (t) => {
  const { dir, store, run } = workspace(t);
  writeFileSync(path.join(dir, 'legacy.tar'), await legacySave());
  writeFileSync(path.join(dir, 'oci.tar'), await ociSave());
  t.is(run(['gc']).status, 0);
  const before = snapshotStore(store);
  for (const file of ['legacy.tar', 'oci.tar']) {
    for (const target of [['refused:1'], ['--bundle', 'b']]) {
      const result = run(['import', '--export', file, ...target]);
      t.is(result.status, 1, `${file} ${target.join(' ')}`);
      t.regex(
        result.stderr,
        new RegExp(
          `^oci: import ${file.replace('.', '\\.')}: .*is an image archive \\(as docker save writes\\), not a filesystem \\(as docker export writes\\)\\n$`,
        ),
      );
    }
  }
  t.deepEqual(snapshotStore(store), before);
  t.false(existsSync(path.join(dir, 'b', 'config.json')));
  t.deepEqual(readdirSync(path.join(dir, 'b')), []);
});

test('on a terminal, import draws the archive read and each blob, import --export the filesystem read or its layer applied; -q nothing', async (t) => {
  const { dir, onTerminal } = workspace(t);
  writeFileSync(path.join(dir, 'save.tar'), await legacySave());
  writeFileSync(path.join(dir, 'export.tar'), await exportedFilesystem());
  const saved = onTerminal(['import', 'save.tar']);
  t.regex(saved, /save\.tar \[=+\] [\d.]+ MB \/ [\d.]+ MB/);
  t.regex(saved, new RegExp(`${sha256(busybox).slice(7, 19)} \\[=+\\] [\\d.]+ MB / [\\d.]+ MB`));
  t.regex(onTerminal(['import', '--export', 'export.tar', 'exported:1']), /export\.tar \[=+\] 2\.\d MB \/ 2\.\d MB/);
  t.regex(
    spawnSync('script', ['-qec', `${process.execPath} ${ociBin} --store ${path.join(dir, 'other')} import --export - piped:1 < export.tar`, '/dev/null'], {
      cwd: dir,
      encoding: 'utf8',
    }).stdout,
    /- \[ {30}\] 2\.\d MB read/,
  );
  t.regex(onTerminal(['import', '--export', 'export.tar', '--bundle', 'b']), /layer 1\/1 \[=+\] [\d.]+ MB \/ [\d.]+ MB/);
  t.regex(onTerminal(['import', '-q', 'save.tar']).replace(/\r/g, ''), /^docker\.io\/library\/busybox:latest sha256:[0-9a-f]{64}\n[^\n]+\n$/);
});

/** An oci-archive of a multi-platform image as Docker 25+ saves it from containerd: the index, and the blobs of `held` only. */
function partialIndexArchive(images: readonly BuiltImage[], held: readonly BuiltImage[]): Promise<Buffer> {
  const index = buildIndex(images);
  const blobs = new Map([[index.manifest.digest, index.blobs.get(index.manifest.digest)!], ...held.flatMap((image) => [...image.blobs])]);
  return tarLayer([
    ...[...blobs].map(([digest, data]): TarEntry => ({ path: `blobs/sha256/${hex(digest)}`, content: data })),
    {
      path: 'index.json',
      content: JSON.stringify({
        schemaVersion: 2,
        manifests: [{ ...index.manifest, annotations: { 'io.containerd.image.name': 'docker.io/library/multi:1' } }],
      }),
    },
    { path: 'oci-layout', content: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
  ]);
}

test('a multi-platform image whose archive holds some of its platforms: the index and those platforms load', async (t) => {
  const { dir, store, run } = workspace(t);
  const amd64 = buildImage([busybox], { architecture: 'amd64', os: 'linux', config: { Cmd: ['echo', 'amd64 of an index'] } });
  const arm64 = buildImage([await tarLayer([{ path: 'arm', content: 'arm64' }])], { architecture: 'arm64', os: 'linux', variant: 'v8' });
  writeFileSync(path.join(dir, 'some.tar'), await partialIndexArchive([amd64, arm64], [amd64]));
  const imported = run(['import', 'some.tar']);
  t.is(imported.status, 0, imported.stderr);
  t.is(imported.stdout, `docker.io/library/multi:1 ${buildIndex([amd64, arm64]).manifest.digest}\n`, 'named by the index, its digest kept');
  t.is(run(['unpack', 'multi:1', 'b']).status, 0);
  t.is(runcRun(path.join(dir, 'b')).stdout, 'amd64 of an index\n');
  writeFileSync(path.join(dir, 'none.tar'), await partialIndexArchive([amd64, arm64], []));
  const none = run(['import', 'none.tar']);
  t.is(none.status, 1);
  t.regex(none.stderr, /none of the images its index lists is there\n$/);
  t.deepEqual(refNames(store), ['docker.io/library/multi:1']);
});
