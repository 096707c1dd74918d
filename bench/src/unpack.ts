/**
 * Unpack of the ~200 MB two-layer Debian image (fixtures/debian.ts, the pull benchmark's) into a
 * new bundle: `oci unpack` against `umoci unpack` (target: at most 0.25x) and against `tar -xzf`
 * of the same two layers into one directory (target: at most 1.2x), side by side in one run.
 * Then where the time goes: inflating alone, applying pre-inflated tars alone, and both.
 * Every run unpacks into a directory of its own after a `sync` (untimed), so that no case pays
 * for the writeback of another's files, and the trees are removed only at the end: this
 * machine's root filesystem is ext4 without a journal, whose inode allocator steps over every
 * inode freed in the last minute one at a time (`recently_deleted`), so a tree made right after
 * one was removed pays for the removal (60% of an unpack's CPU time, measured with perf).
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { type ImageManifest, Store, unpack } from '@oci/image';
import { decompress } from '@oci/image/layer/decompress';
import { loadAddon } from '@oci/native';
import { ociFrontDoor } from '@oci/test/harness/cli';
import type { Benchmark } from './benchmark.js';
import { debianImage } from './fixtures/debian.js';
import { type Case, command, measure, report } from './measure.js';

export const unpackBenchmark: Benchmark = {
  name: 'unpack',
  describe: 'oci unpack of a 200 MB Debian image into a new bundle against umoci unpack and tar -xzf',
  async run({ rounds, work }) {
    const image = await debianImage();
    const dir = (name: string) => path.join(work, name);
    const umoci = freshTarget(dir('umoci'));
    const tar = freshTarget(dir('tar'));
    const oci = freshTarget(dir('oci'));
    const lib = freshTarget(dir('lib'));
    const manifest = JSON.parse(readFileSync(blob(image.layout, image.manifest.digest), 'utf8')) as ImageManifest;
    const layers = manifest.layers.map((l) => blob(image.layout, l.digest));
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: '' };
    const store = await Store.open(image.layout);

    const cases: Case[] = [
      {
        name: 'umoci unpack',
        prepare: umoci.prepare,
        run: () => command('umoci unpack', 'umoci', ['unpack', '--image', `${image.layout}:${image.ref}`, umoci.path]).run(),
      },
      {
        name: 'tar -xzf (both layers)',
        prepare: tar.prepare,
        run: () => command('tar', 'sh', ['-c', `mkdir -p ${tar.path} && ${layers.map((l) => `tar -xzf ${l} -C ${tar.path}`).join(' && ')}`]).run(),
      },
      {
        name: 'oci unpack',
        prepare: oci.prepare,
        run: () => command('oci unpack', ociFrontDoor, ['--store', image.layout, 'unpack', image.ref, oci.path], { env }).run(),
      },
      { name: 'unpack() in process', prepare: lib.prepare, run: async () => void (await unpack({ store, image: image.ref }, path.join(lib.path, 'rootfs'))) },
    ];
    const timings = await measure(cases, Math.max(3, Math.min(rounds, 9)));
    report(`unpack of ${image.ref} (2 gzip layers, ${(manifest.layers.reduce((n, l) => n + l.size, 0) / 1e6).toFixed(0)} MB) into a new bundle`, timings);
    const median = (name: string) => timings.find((t) => t.name === name)!.median;
    console.log(`  oci unpack / umoci unpack: ${(median('oci unpack') / median('umoci unpack')).toFixed(2)}x (target: at most 0.25x)`);
    console.log(`  oci unpack / tar -xzf:     ${(median('oci unpack') / median('tar -xzf (both layers)')).toFixed(2)}x (target: at most 1.2x)`);

    await breakdown(store, image.ref, layers, dir, Math.max(3, Math.min(rounds, 5)));
  },
};

// Where the time goes: the two halves of an unpack alone, then together.
async function breakdown(store: Store, ref: string, layers: string[], dir: (name: string) => string, rounds: number): Promise<void> {
  const addon = loadAddon();
  const plain = layers.map((_, i) => dir(`layer${i + 1}.tar`));
  for (const [i, layer] of layers.entries()) await pipeline(createReadStream(layer), createGunzip(), createWriteStream(plain[i]!));
  const applied = freshTarget(dir('plain'));
  const both = freshTarget(dir('both'));
  const cases: Case[] = [
    command('gzip -dc (both layers, to /dev/null)', 'sh', ['-c', layers.map((l) => `gzip -dc < ${l} > /dev/null`).join(' && ')]),
    ...(
      [
        ["ISA-L in the addon's thread", addon],
        ['zlib in a worker, without the addon', null],
      ] as const
    ).map(([how, native]) => ({
      name: `inflate + diff_id hash only (${how}, nothing written)`,
      async run() {
        for (const layer of layers) {
          const inflating = decompress(createReadStream(layer, { highWaterMark: 1 << 20 }), 'gzip', { algorithm: 'sha256', addon: native, ownedChunks: true });
          while (!(await inflating.next()).done);
        }
      },
    })),
    {
      name: 'apply only (pre-inflated tars)',
      prepare: applied.prepare,
      async run() {
        await unpack({ layers: plain.map((file) => ({ stream: () => createReadStream(file, { highWaterMark: 1 << 20 }) })) }, applied.path);
      },
    },
    { name: 'both: unpack() in process', prepare: both.prepare, run: async () => void (await unpack({ store, image: ref }, both.path)) },
  ];
  report('where the time goes (in process)', await measure(cases, rounds), 'both: unpack() in process');
  console.log(`  (apply = parse the tar and make every file with synchronous syscalls on the main thread; inflating runs off it and overlaps it)`);
}

/** A new directory for each run (`path`, after `prepare`), and a sync before it. */
function freshTarget(base: string): { prepare(): void; readonly path: string } {
  let runs = 0;
  let current = '';
  return {
    prepare() {
      current = `${base}-${++runs}`;
      spawnSync('sync');
    },
    get path() {
      return current;
    },
  };
}

function blob(layout: string, digest: string): string {
  return path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}
