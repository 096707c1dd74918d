/**
 * `oci save` and `oci load` as a user runs them: images pulled from the real registry, archives
 * written as `docker save` and `podman save` write them, read back by oci, by podman (a peer:
 * `podman load`) and by skopeo, gzip-compressed or not, through files or a pipe; what podman
 * saves, oci loads. A loaded image is unpacked and run by `oci run`.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { busyboxImage, busyboxLayer, busyboxLayerDigest } from './harness/busybox.js';
import { oci, ociBin } from './harness/cli.js';
import { type BuiltImage, buildImage, buildIndex, pushLayout, tarLayer, writeLayout } from './harness/images.js';
import { type Podman, startPodman } from './harness/podman.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { runOk, shellQuote } from './harness/run.js';
import { stateRoot } from './harness/runtime.js';
import { snapshotStore } from './harness/store.js';
import { tempDir } from './harness/tmp.js';

// The tests that use podman run one at a time: they share its image store.
let registry: Registry;
let podman: Podman;
let busybox: BuiltImage;
let greeting: BuiltImage;
let multi: BuiltImage;
/** A store holding busybox:latest, greeting:1 and the multi-platform multi:latest, pulled from the registry. */
let source: string;
let removeSource: () => void;

test.before(async () => {
  registry = await startRegistry();
  podman = startPodman({ insecureRegistries: [registry.host] });
  busybox = await busyboxImage();
  greeting = buildImage(
    [
      await busyboxLayer(),
      await tarLayer([
        { path: 'etc/', type: 'directory' },
        { path: 'etc/motd', content: 'hello from a saved image\n' },
      ]),
    ],
    {
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['cat', '/etc/motd'], Env: ['PATH=/bin'] },
    },
  );
  multi = buildIndex([busybox, buildImage([await tarLayer([{ path: 'arm', content: 'arm64' }])], { architecture: 'arm64', os: 'linux', variant: 'v8' })]);
  const layout = tempDir('layout');
  writeLayout(layout.dir, { latest: busybox, greeting, multi });
  pushLayout(layout.dir, 'latest', `${registry.host}/library/busybox:latest`);
  pushLayout(layout.dir, 'greeting', `${registry.host}/library/greeting:1`);
  pushLayout(layout.dir, 'multi', `${registry.host}/library/multi:latest`);
  layout.remove();
  ({ dir: source, remove: removeSource } = tempDir('source-store'));
  for (const args of [
    ['pull', '--quiet', `${registry.host}/library/busybox`],
    ['pull', '--quiet', `${registry.host}/library/greeting:1`],
    ['copy', '--all', '--quiet', `docker://${registry.host}/library/multi`, `${registry.host}/library/multi`],
  ]) {
    const result = oci(['--store', source, ...args], { env: env() });
    if (result.status !== 0) throw new Error(`oci ${args.join(' ')}: ${result.stderr}`);
  }
});
test.after.always(async () => {
  await podman?.stop();
  await registry?.stop();
  removeSource?.();
});

const env = () => ({ ...process.env, HOME: '/nonexistent', OCI_REGISTRY_MIRRORS: '' });
const names = {
  busybox: () => `${registry.host}/library/busybox:latest`,
  greeting: () => `${registry.host}/library/greeting:1`,
  multi: () => `${registry.host}/library/multi:latest`,
};

function workspace(t: { teardown(fn: () => void): void }) {
  const store = tempDir('store');
  const work = tempDir('work');
  t.teardown(store.remove);
  t.teardown(work.remove);
  const at = (name: string) => path.join(work.dir, name);
  /** oci with the source store (save) or the empty one (load). */
  const save = (args: string[]) => oci(['--store', source, 'save', ...args], { cwd: work.dir, env: env() });
  const run = (args: string[], input?: Buffer) => oci(['--store', store.dir, ...args], { cwd: work.dir, env: env(), ...(input && { input }) });
  /** A pipeline through sh, each command `oci` with its arguments. */
  const sh = (line: string) => spawnSync('sh', ['-c', line], { cwd: work.dir, env: { ...env(), OCI: `${process.execPath} ${ociBin}` }, encoding: 'utf8' });
  return { store: store.dir, at, save, run, sh };
}

/** The files of a tar archive, as GNU tar (a peer) lists them. */
function archiveFiles(file: string): string[] {
  return spawnSync('tar', ['-tf', file], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
}

function digestOf(store: string, name: string): string | undefined {
  const index = JSON.parse(readFileSync(path.join(store, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  return index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === name)?.digest;
}

test('save two images into one docker-archive, load it elsewhere: names and digests unchanged, and oci run runs it', (t) => {
  const { at, save, run, store } = workspace(t);
  const saved = save(['-o', 'two.tar', `${registry.host}/library/busybox`, names.greeting()]);
  t.is(saved.status, 0, saved.stderr);
  t.is(saved.stdout, '');
  const hex = (digest: string) => `blobs/sha256/${digest.slice(7)}`;
  const blobs = new Set([...busybox.blobs.keys(), ...greeting.blobs.keys()].map(hex));
  t.deepEqual(
    archiveFiles(at('two.tar')),
    ['blobs/', 'blobs/sha256/', ...[...blobs].sort(), 'index.json', 'manifest.json', 'oci-layout', 'repositories'].sort(),
  );
  const manifestJson = JSON.parse(spawnSync('tar', ['-xOf', at('two.tar'), 'manifest.json'], { encoding: 'utf8' }).stdout) as {
    Config: string;
    RepoTags: string[];
    Layers: string[];
  }[];
  t.deepEqual(
    manifestJson.map((entry) => entry.RepoTags),
    [[`${registry.host}/library/busybox:latest`], [`${registry.host}/library/greeting:1`]],
  );

  const loaded = run(['load', '-i', 'two.tar']);
  t.is(loaded.status, 0, loaded.stderr);
  t.is(loaded.stdout, `Loaded image: ${names.busybox()}\nLoaded image: ${names.greeting()}\n`);
  t.is(digestOf(store, names.busybox()), busybox.manifest.digest);
  t.is(digestOf(store, names.greeting()), greeting.manifest.digest);

  t.is(run(['unpack', names.greeting(), 'bundle']).status, 0);
  const state = stateRoot();
  t.teardown(state.remove);
  const ran = state.oci(['run', '--bundle', at('bundle'), `saved-${process.pid}`], { input: '' });
  t.is(ran.status, 0, ran.stderr);
  t.is(ran.stdout, 'hello from a saved image\n');
});

test.serial('podman load and skopeo read the docker-archive and the oci-archive oci save writes', async (t) => {
  const { at, save } = workspace(t);
  t.is(save(['-o', 'docker.tar', names.greeting()]).status, 0);
  t.is(save(['--format', 'oci-archive', '-o', 'oci.tar', names.greeting()]).status, 0);
  t.deepEqual(
    archiveFiles(at('oci.tar')).filter((f) => !f.startsWith('blobs/')),
    ['index.json', 'oci-layout'],
  );
  for (const [file, loadedAs] of [
    ['docker.tar', names.greeting()],
    ['oci.tar', names.greeting()],
  ] as const) {
    const loaded = await podman.podman(['load', '-i', at(file)]);
    t.is(loaded.status, 0, loaded.stderr);
    t.regex(loaded.stdout, new RegExp(`Loaded image.*: ${loadedAs.replace(/[.]/g, '\\.')}`), file);
    const cmd = await runOk('podman', ['image', 'inspect', '--format', '{{.Config.Cmd}}', loadedAs], { env: podman.env });
    t.is(cmd.stdout.trim(), '[cat /etc/motd]', file);
    await runOk('podman', ['rmi', loadedAs], { env: podman.env });
  }
  const skopeo = (location: string) =>
    JSON.parse(spawnSync('skopeo', ['inspect', '--config', location], { encoding: 'utf8' }).stdout || '{}') as { config?: { Cmd: string[] } };
  t.deepEqual(skopeo(`docker-archive:${at('docker.tar')}:${names.greeting()}`).config?.Cmd, ['cat', '/etc/motd']);
  t.deepEqual(skopeo(`oci-archive:${at('oci.tar')}:${names.greeting()}`).config?.Cmd, ['cat', '/etc/motd']);
});

test.serial('what podman save writes (both formats), oci load reads and unpacks', async (t) => {
  const { at, run } = workspace(t);
  await podman.pull(names.greeting());
  await runOk('podman', ['save', '-o', at('podman-docker.tar'), names.greeting()], { env: podman.env });
  await runOk('podman', ['save', '--format', 'oci-archive', '-o', at('podman-oci.tar'), names.greeting()], { env: podman.env });
  for (const file of ['podman-docker.tar', 'podman-oci.tar']) {
    const loaded = run(['load', '-i', file]);
    t.is(loaded.status, 0, loaded.stderr);
    t.is(loaded.stdout, `Loaded image: ${names.greeting()}\n`, file);
    t.is(run(['unpack', '--force', names.greeting(), 'bundle']).status, 0, file);
    t.is(readFileSync(at('bundle/rootfs/etc/motd'), 'utf8'), 'hello from a saved image\n');
  }
});

test.serial('--compress, or a .gz name, gzips the archive; load tells gzip by its first bytes; podman loads it too', async (t) => {
  const { at, save, run } = workspace(t);
  t.is(save(['--compress', '-o', 'busybox.tar', names.busybox()]).status, 0);
  t.is(save(['-o', 'busybox.tar.gz', names.busybox()]).status, 0);
  t.is(save(['-o', 'plain.tar', names.busybox()]).status, 0);
  for (const file of ['busybox.tar', 'busybox.tar.gz']) {
    t.deepEqual([...readFileSync(at(file)).subarray(0, 2)], [0x1f, 0x8b], file);
    t.is(
      spawnSync('gzip', ['-dc', at(file)]).stdout.toString('latin1'),
      readFileSync(at('plain.tar')).toString('latin1'),
      `${file}: the plain archive, gzipped`,
    );
    const loaded = run(['load', '-i', file]);
    t.is(loaded.status, 0, loaded.stderr);
    t.is(loaded.stdout, `Loaded image: ${names.busybox()}\n`);
  }
  const podmanLoad = await podman.podman(['load', '-i', at('busybox.tar.gz')]);
  t.is(podmanLoad.status, 0, podmanLoad.stderr);
});

test('save to stdout, load from stdin: through a pipe, gzip or not; no archive onto a terminal', (t) => {
  const { sh, store } = workspace(t);
  for (const compress of ['', '--compress']) {
    const piped = sh(`$OCI --store ${shellQuote(source)} save ${compress} ${names.busybox()} ${names.greeting()} | $OCI --store ${shellQuote(store)} load`);
    t.is(piped.status, 0, piped.stderr);
    t.is(piped.stdout, `Loaded image: ${names.busybox()}\nLoaded image: ${names.greeting()}\n`);
    t.is(piped.stderr, '', 'no progress drawn into a pipe');
  }
  t.deepEqual(
    readdirSync(path.join(store, 'ingest')).filter((name) => !name.endsWith('.tmp')),
    [],
    'the spooled copy of stdin is gone',
  );
  const onTerminal = spawnSync('script', ['-qec', `${process.execPath} ${ociBin} --store ${source} save ${names.busybox()}`, '/dev/null'], {
    encoding: 'utf8',
  });
  t.regex(onTerminal.stdout, /oci: save .*: cowardly refusing to write an archive to a terminal: use -o FILE or redirect stdout/);
});

test('--platform picks the image saved from a multi-platform one; an oci-archive then loads as OCI', (t) => {
  const { at, save, run, store } = workspace(t);
  const arm = JSON.parse(multi.blobs.get(multi.manifest.digest)!.toString()).manifests[1].digest as string;
  t.is(save(['--platform', 'linux/arm64', '--format', 'oci-archive', '-o', 'arm.tar', names.multi()]).status, 0);
  t.is(save(['-o', 'host.tar', names.multi()]).status, 0);
  t.is(run(['load', '-i', 'arm.tar']).status, 0);
  t.is(digestOf(store, names.multi()), arm);
  t.is(run(['load', '-i', 'host.tar']).status, 0);
  t.is(digestOf(store, names.multi()), busybox.manifest.digest);
  t.false(existsSync(at('nothing.tar')));
});

test('on a terminal, save draws each blob and load the archive read and each blob; -q and a pipe draw nothing', (t) => {
  const { at, store } = workspace(t);
  const onTerminal = (args: string, storeDir = store) =>
    spawnSync('script', ['-qec', `${process.execPath} ${ociBin} --store ${storeDir} ${args}`, '/dev/null'], {
      encoding: 'utf8',
      env: { ...env(), COLUMNS: '120' },
    }).stdout;
  const layer = busyboxLayerDigest(busybox);
  const blobRow = new RegExp(`${layer.slice(7, 19)} \\[=+\\] 1\\.1 MB / 1\\.1 MB`);
  t.regex(onTerminal(`save -o ${at('busybox.tar')} ${names.busybox()}`, source), blobRow);
  t.is(onTerminal(`save -q -o ${at('quiet.tar')} ${names.busybox()}`, source), '');
  const drawn = onTerminal(`load -i ${at('busybox.tar')}`);
  t.regex(drawn, /busybox\.tar \[=+\] 1\.1 MB \/ 1\.1 MB/);
  t.regex(drawn, blobRow);
  t.is(onTerminal(`load -q -i ${at('busybox.tar')}`).replace(/\r/g, ''), `Loaded image: ${names.busybox()}\n`);
});

test('two names of one image: one manifest.json entry with both RepoTags, both names loaded', (t) => {
  const { at, save, run, store } = workspace(t);
  t.is(
    oci(['--store', source, 'copy', '--quiet', names.busybox(), 'example.com/again/busybox:2'], { env: env() }).stdout,
    `${busybox.manifest.digest}\n`,
    'a copy within the store names the image again',
  );
  t.is(save(['-o', 'both.tar', names.busybox(), 'example.com/again/busybox:2']).status, 0);
  const manifestJson = JSON.parse(spawnSync('tar', ['-xOf', at('both.tar'), 'manifest.json'], { encoding: 'utf8' }).stdout) as { RepoTags: string[] }[];
  t.deepEqual(
    manifestJson.map((entry) => entry.RepoTags),
    [[`${registry.host}/library/busybox:latest`, 'example.com/again/busybox:2']],
  );
  t.is(run(['load', '-i', 'both.tar']).stdout, `Loaded image: ${names.busybox()}\nLoaded image: example.com/again/busybox:2\n`);
  t.is(digestOf(store, 'example.com/again/busybox:2'), busybox.manifest.digest);
});

test('mistakes: a name the store lacks writes no archive; an archive that is not one changes no store', (t) => {
  const { at, save, run, store } = workspace(t);
  const missing = save(['-o', 'x.tar', names.busybox(), 'nothere:1']);
  t.is(missing.status, 1);
  t.is(missing.stderr, `oci: save ${names.busybox()}: no image named nothere:1 in the store\n`);
  t.deepEqual(readdirSync(at('.')), []);
  t.is(run(['gc']).status, 0);
  const before = snapshotStore(store);
  for (const [content, pattern] of [
    ['this is not a tar archive at all'.repeat(40), /invalid tar header checksum/],
    [spawnSync('tar', ['-cf', '-', '-C', '/etc', 'hostname']).stdout, /holds no image: no manifest\.json and no OCI layout/],
  ] as const) {
    const result = run(['load'], Buffer.from(content));
    t.is(result.status, 1);
    t.regex(result.stderr, new RegExp(`^oci: load: -[: ].*${pattern.source}`));
    t.deepEqual(snapshotStore(store), before);
  }
});
