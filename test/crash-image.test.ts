/**
 * `oci pull` and `oci unpack` killed with SIGKILL at random points, dozens of times, each kill
 * followed by the invariants a crash must keep:
 * - the store is a valid OCI image layout (skopeo reads every image it names), every blob under
 *   blobs/sha256 matches its digest, and nothing index.json names is missing a blob;
 * - an unpack leaves the store as it was and no bundle that looks complete (config.json) without
 *   the whole rootfs;
 * - the next pull or unpack of the same image works and gives the right result.
 * The kill points come from a seeded generator: the seed is printed (OCI_CRASH_SEED=N replays its
 * choices; where a kill lands within the command still depends on the machine's timing).
 */

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { busyboxLayer } from './harness/busybox.js';
import { oci, ociBin } from './harness/cli.js';
import { buildImage, pushLayout, tarLayer, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { seeded } from './harness/seeded.js';
import { snapshotStore } from './harness/store.js';
import { tempDir } from './harness/tmp.js';

const ROUNDS = Number(process.env.OCI_CRASH_ROUNDS ?? 20);

let registry: Registry;
let reference: string;

test.before(async () => {
  registry = await startRegistry();
  // Three layers (busybox, a thousand small files, a layer deleting some of them): a pull has
  // several blobs to download and an unpack has work to be killed in.
  const many = await tarLayer(Array.from({ length: 1000 }, (_, i) => ({ path: `data/${i % 10}/f${i}`, content: `file ${i}\n`.repeat(50) })));
  const deletions = await tarLayer(Array.from({ length: 100 }, (_, i) => ({ path: `data/${i % 10}/.wh.f${i}`, content: '' })));
  const image = buildImage([await busyboxLayer(), many, deletions], { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] } });
  const layout = tempDir('crash-layout');
  writeLayout(layout.dir, { latest: image });
  reference = `${registry.host}/library/crash:latest`;
  pushLayout(layout.dir, 'latest', reference);
  layout.remove();
});
test.after.always(async () => {
  await registry?.stop();
});

const env = () => ({ ...process.env, OCI_REGISTRY_MIRRORS: '', HOME: '/nonexistent' });

/** Runs `oci args`, SIGKILLs it after `delay` ms unless it exits first; true when it was killed. */
async function killAfter(args: string[], delay: number): Promise<boolean> {
  const child = spawn(process.execPath, [ociBin, ...args], { env: env(), stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), delay);
  const code = await exited;
  clearTimeout(timer);
  return code === null;
}

/** How long the command takes when nobody kills it (the range kill points are drawn from). */
function timed(args: string[]): number {
  const start = performance.now();
  const result = oci(args, { env: env() });
  if (result.status !== 0) throw new Error(`oci ${args.join(' ')}: ${result.stderr}`);
  return performance.now() - start;
}

const fileDigest = (file: string) => `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;

interface Descriptor {
  mediaType: string;
  digest: string;
  annotations?: Record<string, string>;
}

/** The store invariants; `where` names the round in messages. */
function checkStore(t: ExecutionContext, store: string, where: string): void {
  if (!existsSync(path.join(store, 'oci-layout'))) {
    // Killed before the layout was made (oci-layout is written last): nothing may be named yet.
    t.false(
      existsSync(path.join(store, 'index.json')) && JSON.parse(readFileSync(path.join(store, 'index.json'), 'utf8')).manifests.length > 0,
      `${where}: names without oci-layout`,
    );
    return;
  }
  t.deepEqual(JSON.parse(readFileSync(path.join(store, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' }, `${where}: oci-layout`);
  const index = JSON.parse(readFileSync(path.join(store, 'index.json'), 'utf8')) as { schemaVersion: number; manifests: Descriptor[] };
  t.is(index.schemaVersion, 2, `${where}: index.json`);
  const blobs = path.join(store, 'blobs', 'sha256');
  for (const name of readdirSync(blobs)) t.is(fileDigest(path.join(blobs, name)), `sha256:${name}`, `${where}: blob ${name} does not match its digest`);
  const blob = (digest: string) => path.join(blobs, digest.slice('sha256:'.length));
  for (const entry of index.manifests) {
    t.true(existsSync(blob(entry.digest)), `${where}: index.json names ${entry.digest}, which is missing`);
    const manifest = JSON.parse(readFileSync(blob(entry.digest), 'utf8')) as { config: Descriptor; layers: Descriptor[] };
    for (const child of [manifest.config, ...manifest.layers])
      t.true(existsSync(blob(child.digest)), `${where}: ${entry.digest} needs ${child.digest}, which is missing`);
    const name = entry.annotations?.['org.opencontainers.image.ref.name'];
    const skopeo = spawnSync('skopeo', ['inspect', '--config', `oci:${store}:${name}`], { encoding: 'utf8' });
    t.is(skopeo.status, 0, `${where}: skopeo cannot read ${name}: ${skopeo.stderr}`);
  }
}

test('oci pull killed at random points leaves a valid store, and the next pull completes it', async (t) => {
  const random = seeded(t);
  const probe = tempDir('crash-probe');
  const pullTime = timed(['--store', probe.dir, 'pull', '--quiet', reference]);
  const expected = snapshotStore(probe.dir);
  probe.remove();
  let killed = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const { dir, remove } = tempDir('crash-store');
    try {
      const store = path.join(dir, 'store');
      // Now and then a second kill, into what the first one left.
      const kills = random() < 0.3 ? 2 : 1;
      for (let k = 0; k < kills; k++) {
        const delay = Math.round(random() * pullTime * 1.1);
        if (await killAfter(['--store', store, 'pull', '--quiet', reference], delay)) killed++;
        checkStore(t, store, `pull round ${round}, killed after ${delay} ms`);
      }
      const again = oci(['--store', store, 'pull', '--quiet', reference], { env: env() });
      t.is(again.status, 0, `pull round ${round}: the next pull failed: ${again.stderr}`);
      checkStore(t, store, `pull round ${round}, after the next pull`);
      const after = snapshotStore(store);
      t.deepEqual(after.blobs, expected.blobs, `pull round ${round}: the store holds the image's blobs and no others`);
      t.deepEqual(refNamesOf(after.index), refNamesOf(expected.index));
    } finally {
      remove();
    }
  }
  t.log(`${killed} of the pulls were killed before they finished (pull: ${Math.round(pullTime)} ms)`);
});

const refNamesOf = (index: unknown) =>
  (index as { manifests: Descriptor[] }).manifests.map((m) => [m.digest, m.annotations?.['org.opencontainers.image.ref.name']]);

/** Every path under `root` with its type, mode, owner, size and link target: a rootfs to compare. */
function listTree(root: string): string[] {
  return readdirSync(root, { recursive: true })
    .map(String)
    .sort()
    .map((name) => {
      const info = lstatSync(path.join(root, name));
      const target = info.isSymbolicLink() ? ` -> ${readlinkSync(path.join(root, name))}` : '';
      return `${name} ${info.mode.toString(8)} ${info.uid}:${info.gid} ${info.isFile() ? info.size : ''}${target}`;
    });
}

test('oci unpack killed at random points leaves the store alone and no bundle that looks whole; the next unpack makes it', async (t) => {
  const random = seeded(t);
  const { dir, remove } = tempDir('crash-unpack');
  t.teardown(remove);
  const store = path.join(dir, 'store');
  t.is(oci(['--store', store, 'pull', '--quiet', reference], { env: env() }).status, 0);
  const storeBefore = snapshotStore(store);
  const model = path.join(dir, 'model');
  const unpackTime = timed(['--store', store, 'unpack', reference, model]);
  const expectedRootfs = listTree(path.join(model, 'rootfs'));
  const expectedConfig = readFileSync(path.join(model, 'config.json'), 'utf8');
  let killed = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const bundle = path.join(dir, `bundle${round}`);
    const delay = Math.round(random() * unpackTime * 1.1);
    const where = `unpack round ${round}, killed after ${delay} ms`;
    if (await killAfter(['--store', store, 'unpack', reference, bundle], delay)) killed++;
    // Unpack holds a lease (so gc keeps the blobs it reads): a killed one leaves its empty
    // directory in ingest/, which the next gc removes. Nothing else in the store may change.
    const { ingest, ...rest } = snapshotStore(store);
    t.deepEqual(rest, { index: storeBefore.index, blobs: storeBefore.blobs }, `${where}: the store changed`);
    t.true(
      ingest.every((name) => /^[0-9a-f]{12}$/.test(name)),
      `${where}: ingest/ holds ${ingest.join(', ')}`,
    );
    if (existsSync(path.join(bundle, 'config.json')))
      t.deepEqual(listTree(path.join(bundle, 'rootfs')), expectedRootfs, `${where}: config.json beside a rootfs that is not whole`);

    // --force: a kill after the whole rootfs moved into place, before config.json was written,
    // leaves a rootfs that a plain unpack will not overwrite (it cannot tell it from the user's).
    const again = oci(['--store', store, 'unpack', '--force', reference, bundle], { env: env() });
    t.is(again.status, 0, `${where}: the next unpack failed: ${again.stderr}`);
    t.deepEqual(listTree(path.join(bundle, 'rootfs')), expectedRootfs, `${where}: the next unpack's rootfs`);
    t.is(readFileSync(path.join(bundle, 'config.json'), 'utf8'), expectedConfig, `${where}: the next unpack's config.json`);
    // The other half of the kill -9 fix for unpack (its own branch): what a killed unpack left
    // beside the bundle (.rootfs-*, .rootfs-*.partial-*) is gone after the next one succeeds.
    const leftovers = readdirSync(bundle).filter((name) => name.startsWith('.rootfs-'));
    t.deepEqual(leftovers, [], `${where}: temp copies left in the bundle after the next unpack`);
  }
  t.log(`${killed} of the unpacks were killed before they finished (unpack: ${Math.round(unpackTime)} ms)`);
});
