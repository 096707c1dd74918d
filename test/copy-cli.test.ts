/**
 * `oci copy SRC DST` between the real registry (`docker://`), OCI layouts (`oci:`), archives
 * (`oci-archive:`, `docker-archive:`) and the content store (a plain name), as a user runs it;
 * skopeo (a peer) reads what it wrote and writes what it reads. The digests a copy keeps are
 * compared with the ones the registry serves and skopeo reports.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { busyboxImage } from './harness/busybox.js';
import { oci } from './harness/cli.js';
import { type BuiltImage, buildImage, buildIndex, pushLayout, tarLayer, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { refNames } from './harness/store.js';
import { tempDir } from './harness/tmp.js';

let registry: Registry;
let secured: Registry;
let busybox: BuiltImage;
let multi: BuiltImage;
/** The Docker schema 2 manifest's digest of busybox:v2s2, as the registry serves it. */
let v2s2Digest: string;

test.before(async () => {
  [registry, secured] = await Promise.all([startRegistry(), startRegistry({ auth: { htpasswd: { users: { alice: 'secret' } } } })]);
  busybox = await busyboxImage();
  const arm = buildImage([await tarLayer([{ path: 'arm', content: 'arm64' }])], { architecture: 'arm64', os: 'linux', variant: 'v8' });
  multi = buildIndex([busybox, arm]);
  const layout = tempDir('layout');
  writeLayout(layout.dir, { latest: busybox, multi });
  pushLayout(layout.dir, 'latest', `${registry.host}/library/busybox:latest`);
  pushLayout(layout.dir, 'latest', `${registry.host}/library/busybox:v2s2`, 'v2s2');
  pushLayout(layout.dir, 'multi', `${registry.host}/library/multi:latest`);
  layout.remove();
  v2s2Digest = skopeoDigest(`docker://${registry.host}/library/busybox:v2s2`);
});
test.after.always(async () => {
  await Promise.all([registry?.stop(), secured?.stop()]);
});

const env = () => ({ ...process.env, HOME: '/nonexistent', OCI_REGISTRY_MIRRORS: '' });

function workspace(t: { teardown(fn: () => void): void }) {
  const store = tempDir('store');
  const work = tempDir('work');
  t.teardown(store.remove);
  t.teardown(work.remove);
  const run = (args: string[]) => oci(['--store', store.dir, ...args], { cwd: work.dir, env: env() });
  const at = (name: string) => path.join(work.dir, name);
  return { store: store.dir, at, run };
}

function skopeo(args: string[]): string {
  const result = spawnSync('skopeo', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`skopeo ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** The digest of the manifest (or index) at `location`, as skopeo reads it: the hash of its raw bytes. */
function skopeoDigest(location: string): string {
  const raw = spawnSync('skopeo', ['inspect', '--raw', '--tls-verify=false', location], { encoding: 'buffer' });
  if (raw.status !== 0) throw new Error(`skopeo inspect --raw ${location}: ${raw.stderr}`);
  return `sha256:${(spawnSync('sha256sum', [], { input: raw.stdout, encoding: 'utf8' }).stdout as string).split(' ')[0]}`;
}

test('store → oci-archive: → docker:// → store: the digest never changes, and skopeo reads each step', (t) => {
  const { at, run, store } = workspace(t);
  t.is(run(['pull', '--quiet', `${registry.host}/library/busybox`]).status, 0);
  const steps = [
    [`${registry.host}/library/busybox`, `oci-archive:${at('busybox.tar')}:busybox`],
    [`oci-archive:${at('busybox.tar')}:busybox`, `docker://${registry.host}/copied/busybox:1`],
    [`docker://${registry.host}/copied/busybox:1`, 'copied:1'],
  ];
  for (const [from, to] of steps) {
    const copied = run(['copy', '--quiet', from!, to!]);
    t.is(copied.status, 0, copied.stderr);
    t.is(copied.stdout, `${busybox.manifest.digest}\n`, `${from} → ${to}`);
  }
  t.is(skopeoDigest(`oci-archive:${at('busybox.tar')}:busybox`), busybox.manifest.digest);
  t.is(skopeoDigest(`docker://${registry.host}/copied/busybox:1`), busybox.manifest.digest);
  t.is(skopeoDigest(`oci:${store}:docker.io/library/copied:1`), busybox.manifest.digest);
  t.true(refNames(store).includes('docker.io/library/copied:1'));
  t.is(run(['unpack', 'copied:1', 'bundle']).status, 0);
  t.true(existsSync(at('bundle/rootfs/bin/busybox')));
});

test('a Docker schema 2 image keeps its digest into the store, a registry and a docker-archive; oci: and oci-archive: hold it as OCI, as skopeo does', (t) => {
  const { at, run } = workspace(t);
  const source = `docker://${registry.host}/library/busybox:v2s2`;
  for (const [from, to] of [
    [source, 'v2s2:1'],
    ['v2s2:1', `docker-archive:${at('v2.tar')}:example.com/v2:1`],
    [`docker-archive:${at('v2.tar')}`, `docker://${registry.host}/copied/v2s2:1`],
  ]) {
    t.is(run(['copy', '--quiet', from!, to!]).stdout, `${v2s2Digest}\n`, `${from} → ${to}`);
  }
  t.is(skopeoDigest(`docker://${registry.host}/copied/v2s2:1`), v2s2Digest);
  t.is(skopeoDigest(`docker-archive:${at('v2.tar')}:example.com/v2:1`), skopeoDigest(`docker-archive:${at('v2.tar')}`));

  // skopeo finds an image in an OCI layout under OCI media types only: the manifest is converted, its blobs are not.
  const converted = run(['copy', '--quiet', source, `oci:${at('layout')}:v2`]);
  t.is(converted.status, 0, converted.stderr);
  t.is(converted.stdout, `${skopeoDigest(`oci:${at('layout')}:v2`)}\n`);
  t.not(converted.stdout, `${v2s2Digest}\n`);
  const manifest = JSON.parse(skopeo(['inspect', '--raw', `oci:${at('layout')}:v2`])) as {
    mediaType: string;
    config: { digest: string; mediaType: string };
    layers: { digest: string; mediaType: string }[];
  };
  const original = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', source])) as typeof manifest;
  t.is(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  t.deepEqual(
    [manifest.config, ...manifest.layers].map((d) => d.digest),
    [original.config, ...original.layers].map((d) => d.digest),
  );
  t.deepEqual(
    [manifest.config, ...manifest.layers].map((d) => d.mediaType),
    ['application/vnd.oci.image.config.v1+json', 'application/vnd.oci.image.layer.v1.tar+gzip'],
  );
  t.is(run(['copy', '--quiet', `oci:${at('layout')}:v2`, `oci-archive:${at('v2-oci.tar')}:v2`]).stdout, converted.stdout, 'already OCI: kept');
});

test('oci reads what skopeo wrote: oci-archive and docker-archive into the store, named as skopeo named them', (t) => {
  const { at, run, store } = workspace(t);
  skopeo(['copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/library/busybox:latest`, `oci-archive:${at('sk-oci.tar')}:skopeo/oci:1`]);
  skopeo([
    'copy',
    '--quiet',
    '--src-tls-verify=false',
    `docker://${registry.host}/library/busybox:latest`,
    `docker-archive:${at('sk-docker.tar')}:skopeo/docker:1`,
  ]);
  const fromOci = run(['copy', '--quiet', `oci-archive:${at('sk-oci.tar')}:skopeo/oci:1`, 'from-oci:1']);
  t.is(fromOci.status, 0, fromOci.stderr);
  t.is(fromOci.stdout, `${busybox.manifest.digest}\n`, 'skopeo kept the OCI manifest as it is');
  // skopeo writes docker-archive layers uncompressed, under a manifest it does not keep: one is made.
  const fromDocker = run(['copy', '--quiet', `docker-archive:${at('sk-docker.tar')}:skopeo/docker:1`, 'from-docker:1']);
  t.is(fromDocker.status, 0, fromDocker.stderr);
  for (const name of ['from-oci:1', 'from-docker:1']) {
    t.is(run(['unpack', name, name]).status, 0, name);
    t.is(readFileSync(at(`${name}/rootfs/etc/hostname`), 'utf8'), 'busybox\n');
  }
  t.deepEqual(refNames(store).sort(), ['docker.io/library/from-docker:1', 'docker.io/library/from-oci:1']);
});

test('skopeo reads what oci copy wrote into oci:, oci-archive: and docker-archive:', (t) => {
  const { at, run } = workspace(t);
  const source = `docker://${registry.host}/library/busybox:latest`;
  for (const target of [`oci:${at('layout')}:bb`, `oci-archive:${at('bb.tar')}:bb`, `docker-archive:${at('bb-docker.tar')}:bb:1`]) {
    t.is(run(['copy', '--quiet', source, target]).status, 0, target);
    const copiedBySkopeo = at(`by-skopeo-${readdirSync(at('.')).length}`);
    skopeo(['copy', '--quiet', target, `oci:${copiedBySkopeo}:x`]);
    const config = JSON.parse(skopeo(['inspect', '--config', `oci:${copiedBySkopeo}:x`])) as { config: { Cmd: string[] } };
    t.deepEqual(config.config.Cmd, ['sh'], target);
  }
  // skopeo finds the image by its RepoTag (and makes its own manifest: a docker-archive keeps none it reads).
  const config = JSON.parse(skopeo(['inspect', '--config', `docker-archive:${at('bb-docker.tar')}:docker.io/library/bb:1`])) as {
    rootfs: { diff_ids: string[] };
  };
  t.deepEqual(config.rootfs.diff_ids, busybox.config.rootfs.diff_ids);
});

test("into oci:DIR without a REF, the image is listed unnamed, as skopeo lists it; it is then the layout's one image", (t) => {
  const { at, run } = workspace(t);
  t.is(run(['copy', '--quiet', `docker://${registry.host}/library/busybox:latest`, `oci:${at('layout')}`]).stdout, `${busybox.manifest.digest}\n`);
  const index = JSON.parse(readFileSync(at('layout/index.json'), 'utf8')) as { manifests: { digest: string; annotations?: object }[] };
  t.deepEqual(
    index.manifests.map((m) => [m.digest, m.annotations]),
    [[busybox.manifest.digest, undefined]],
  );
  t.is(skopeoDigest(`oci:${at('layout')}`), busybox.manifest.digest);
  t.is(run(['copy', '--quiet', `oci:${at('layout')}`, 'unnamed:1']).stdout, `${busybox.manifest.digest}\n`);
  const bad = run(['copy', `oci:${at('layout')}`, 'docker-archive:x.tar:Not_A_Reference']);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /invalid reference 'Not_A_Reference'/);
});

test("--all copies an index and every image under it, digests unchanged; without it, this host's image", (t) => {
  const { at, run } = workspace(t);
  const source = `docker://${registry.host}/library/multi:latest`;
  const all = run(['copy', '--all', '--quiet', source, `oci:${at('all')}:multi`]);
  t.is(all.status, 0, all.stderr);
  t.is(all.stdout, `${multi.manifest.digest}\n`);
  t.is(skopeoDigest(`oci:${at('all')}:multi`), multi.manifest.digest);
  const blobs = readdirSync(at('all/blobs/sha256'))
    .map((hex) => `sha256:${hex}`)
    .sort();
  t.deepEqual(blobs, [...multi.blobs.keys()].sort(), 'the index, both manifests, their configs and layers');
  t.is(run(['copy', '--all', '--quiet', `oci:${at('all')}:multi`, `docker://${registry.host}/copied/multi:all`]).stdout, `${multi.manifest.digest}\n`);
  t.is(skopeoDigest(`docker://${registry.host}/copied/multi:all`), multi.manifest.digest);

  t.is(run(['copy', '--quiet', source, 'one:1']).stdout, `${busybox.manifest.digest}\n`, "this host's image (linux/amd64)");
  t.is(
    run(['copy', '--quiet', '--platform', 'linux/arm64', source, 'arm:1']).stdout,
    `${JSON.parse(multi.blobs.get(multi.manifest.digest)!.toString()).manifests[1].digest}\n`,
  );
  const refused = run(['copy', '--all', source, `docker-archive:${at('multi.tar')}`]);
  t.is(refused.status, 1);
  t.regex(refused.stderr, /multi-platform index, which a docker-archive cannot hold/);
  t.false(
    readdirSync(at('.')).some((name) => name.includes('multi.tar')),
    'no archive, and no temp file, is left',
  );
});

test('--src-creds and --dest-creds: from a registry that wants them to one that wants them', (t) => {
  const { run } = workspace(t);
  const source = `docker://${registry.host}/library/busybox:latest`;
  const denied = run(['copy', source, `docker://${secured.host}/private/busybox:1`]);
  t.is(denied.status, 1);
  t.regex(denied.stderr, /^oci: copy .*: .*refused/);
  t.is(run(['copy', '--quiet', '--dest-creds', 'alice:secret', source, `docker://${secured.host}/private/busybox:1`]).stdout, `${busybox.manifest.digest}\n`);
  t.is(
    run(['copy', '--quiet', '--src-creds', 'alice:secret', `docker://${secured.host}/private/busybox:1`, `docker://${registry.host}/back/busybox:1`]).stdout,
    `${busybox.manifest.digest}\n`,
  );
});

test('bad locations and missing images: one line, non-zero, nothing written', (t) => {
  const { at, run, store } = workspace(t);
  for (const [args, pattern] of [
    [['copy', 'nothere:1', `oci-archive:${at('x.tar')}`], /^oci: copy nothere:1: no image named nothere:1 in the store\n$/],
    [['copy', `docker://${registry.host}/library/nothere:1`, 'x:1'], /^oci: copy .*: manifest .*nothere:1 not found in /],
    [['copy', 'containers-storage:busybox', 'x:1'], /unsupported transport/],
    [['copy', `oci-archive:${at('missing.tar')}`, 'x:1'], /missing\.tar: no such file/],
  ] as const) {
    const result = run([...args]);
    t.is(result.status, 1, args.join(' '));
    t.regex(result.stderr, pattern);
  }
  t.deepEqual(readdirSync(at('.')), []);
  t.deepEqual(refNames(store), []);
});
