/**
 * Finding images in the store as docker and podman users do: `oci images -q` and its IDs (the
 * config digest, which podman shows for the same image), `oci inspect` by name, short or full
 * ID, or `name@digest`, `--format` templates that print what podman prints for them, `oci tag`,
 * and `oci rmi` by ID.
 */
import test from 'ava';
import { busyboxLayer } from './harness/busybox.js';
import { oci } from './harness/cli.js';
import { type BuiltImage, buildImage, pushLayout, writeLayout } from './harness/images.js';
import { type Podman, startPodman } from './harness/podman.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { refNames } from './harness/store.js';
import { tempDir } from './harness/tmp.js';

let registry: Registry;
let image: BuiltImage;
let other: BuiltImage;
let store: string;
let podman: Podman;
let ref: string;
let cleanup: () => void;

test.before(async () => {
  registry = await startRegistry();
  const layer = await busyboxLayer();
  image = buildImage([layer], {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { Env: ['PATH=/bin', 'TEAM=blue'], Cmd: ['sh', '-c', 'echo hi'], Labels: { 'org.example.team': 'blue', zone: 'a' } },
  });
  other = buildImage([layer], { architecture: 'amd64', os: 'linux', config: { Cmd: ['other'] } });
  const layout = tempDir('layout');
  writeLayout(layout.dir, { image, other });
  ref = `${registry.host}/team/labelled:1`;
  pushLayout(layout.dir, 'image', ref);
  pushLayout(layout.dir, 'other', `${registry.host}/team/other:1`);
  layout.remove();
  const dir = tempDir('store');
  store = dir.dir;
  cleanup = dir.remove;
  for (const name of [ref, `${registry.host}/team/other:1`]) {
    const pulled = oci(['--store', store, 'pull', name], { env: { ...process.env, OCI_REGISTRY_MIRRORS: '' } });
    if (pulled.status !== 0) throw new Error(pulled.stderr);
  }
  podman = startPodman({ insecureRegistries: [registry.host] });
  await podman.pull(ref);
});
test.after.always(async () => {
  await podman?.stop();
  await registry?.stop();
  cleanup?.();
});

const configHex = (built: BuiltImage) =>
  built.manifest.digest && (JSON.parse(built.blobs.get(built.manifest.digest)!.toString()).config.digest.slice(7) as string);
const inOwnStore = (t: { teardown(fn: () => void): void }) => {
  const { dir, remove } = tempDir('store');
  t.teardown(remove);
  const copy = oci(['--store', dir, 'pull', ref], { env: { ...process.env, OCI_REGISTRY_MIRRORS: '' } });
  if (copy.status !== 0) throw new Error(copy.stderr);
  return dir;
};

test('oci images -q prints each image ID once: the config digest, as podman shows it', async (t) => {
  const quiet = oci(['--store', store, 'images', '-q']);
  t.is(quiet.status, 0, quiet.stderr);
  t.is(quiet.stdout, `${configHex(image).slice(0, 12)}\n${configHex(other).slice(0, 12)}\n`);
  const theirs = await podman.podman(['images', '-q', '--no-trunc', ref]);
  t.is(theirs.stdout.trim(), `sha256:${configHex(image)}`);
  const table = oci(['--store', store, 'images']).stdout.split('\n');
  t.regex(table[0]!, /^REF +ID +DIGEST +PLATFORM +SIZE +CREATED$/);
  t.true(table[1]!.startsWith(`${ref}  ${configHex(image).slice(0, 12)}  ${image.manifest.digest.slice(7, 19)}  linux/amd64`), table[1]);
});

test('oci inspect finds an image by name, short ID, full ID, and name@digest', (t) => {
  const id = configHex(image);
  for (const input of [ref, id.slice(0, 12), id, `sha256:${id}`, `${registry.host}/team/labelled@${image.manifest.digest}`]) {
    const result = oci(['--store', store, 'inspect', input]);
    t.is(result.status, 0, `${input}: ${result.stderr}`);
    const shown = JSON.parse(result.stdout) as { Id: string; Digest: string; Name: string; RepoTags: string[]; RepoDigests: string[] };
    t.like(
      shown,
      { Id: id, Digest: image.manifest.digest, Name: ref, RepoTags: [ref], RepoDigests: [`${registry.host}/team/labelled@${image.manifest.digest}`] },
      input,
    );
  }
  const wrongRepository = oci(['--store', store, 'inspect', `${registry.host}/team/other@${image.manifest.digest}`]);
  t.is(
    wrongRepository.stderr,
    `oci: inspect ${registry.host}/team/other@${image.manifest.digest}: no image named ${registry.host}/team/other@${image.manifest.digest} in the store\n`,
  );
  t.is(oci(['--store', store, 'inspect', 'f00d']).status, 1);
});

test('--format templates print what podman prints for the same image', async (t) => {
  const templates = [
    '{{.Config.Env}}',
    '{{json .Config.Cmd}}',
    '{{.Os}}/{{.Architecture}}',
    '{{index .Labels "org.example.team"}}',
    '{{.Labels}}',
    '{{range .Config.Env}}{{.}};{{end}}',
    '{{.Id}}',
    '{{.Config.Labels.zone}} {{.Config.Labels.nothing}}',
    '{{.Config.Cmd | json}}',
    '{{if .Labels}}labelled{{else}}bare{{end}}',
    '{{len .Config.Env}} {{join .Config.Cmd ","}}',
  ];
  for (const template of templates) {
    const ours = oci(['--store', store, 'inspect', '--format', template, ref]);
    const theirs = await podman.podman(['image', 'inspect', '--format', template, ref]);
    t.is(theirs.status, 0, theirs.stderr);
    t.is(ours.stdout, theirs.stdout, template);
  }
});

test('a --format template over oci images, and a bad one is a usage error', (t) => {
  const listed = oci(['--store', store, 'images', '--format', '{{.Ref}} {{.ID}}']);
  t.is(listed.stdout, `${ref} sha256:${configHex(image)}\n${registry.host}/team/other:1 sha256:${configHex(other)}\n`);
  const bad = oci(['--store', store, 'inspect', '--format', '{{range .Config.Env}}', ref]);
  t.is(bad.status, 2);
  t.is(bad.stderr, "oci: inspect: --format: {{range}} without {{end}} (see 'oci inspect --help')\n");
  t.is(oci(['--store', store, 'images', '--format', 'yaml']).status, 2);
});

test('oci tag names an image by name or ID; oci rmi takes an ID that names one image, and refuses one that names two', (t) => {
  const dir = inOwnStore(t);
  const id = configHex(image).slice(0, 12);
  t.is(oci(['--store', dir, 'tag', ref, 'team/mine:2']).status, 0);
  const byId = oci(['--store', dir, 'tag', id, 'localhost:5000/x']);
  t.is(byId.status, 0, byId.stderr);
  t.deepEqual(refNames(dir).sort(), ['docker.io/team/mine:2', 'localhost:5000/x:latest', ref].sort());
  const shown = JSON.parse(oci(['--store', dir, 'inspect', 'team/mine:2']).stdout) as { Id: string; RepoTags: string[] };
  t.is(shown.Id, configHex(image));
  t.is(shown.RepoTags.length, 3);
  const ambiguous = oci(['--store', dir, 'rmi', id]);
  t.is(ambiguous.status, 1);
  t.regex(ambiguous.stderr, /is the image of 3 names \(.*\): remove them by name\n$/);
  const digest = oci(['--store', dir, 'tag', ref, `busybox@sha256:${'0'.repeat(64)}`]);
  t.is(digest.stderr, `oci: tag ${ref}: a tag names an image, not a digest: busybox@sha256:${'0'.repeat(64)}\n`);
  t.is(oci(['--store', dir, 'rmi', 'team/mine:2', 'localhost:5000/x']).status, 0);
  t.is(oci(['--store', dir, 'rmi', id]).stdout, `removed ${ref}\n`);
  t.deepEqual(refNames(dir), []);
});
