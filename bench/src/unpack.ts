/**
 * Unpack of the ~200 MB two-layer Debian image (fixtures/debian.ts, the pull benchmark's) into a
 * new bundle: `oci unpack` against `umoci unpack` (target: at most 0.25x) and against `tar -xzf`
 * of the same two layers into one directory (target: at most 1.2x), side by side in one run.
 * Then where the time goes: inflating alone, applying pre-inflated tars alone, and both.
 * Every round starts from a removed target and a `sync` (untimed), so no case pays for the
 * writeback of another's files.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Store, unpack, type ImageManifest } from '@oci/image';
import { ociBin } from '@oci/test/harness/cli';
import { tempDir } from '@oci/test/harness/tmp';
import { debianImage } from './fixtures/debian.js';
import { command, measure, report, type Case } from './measure.js';
import type { Benchmark } from './run.js';

export const unpackBenchmark: Benchmark = {
  name: 'unpack',
  describe: 'oci unpack of a 200 MB Debian image into a new bundle against umoci unpack and tar -xzf',
  async run({ rounds }) {
    const image = await debianImage();
    const work = tempDir('bench-unpack');
    try {
      const dir = (name: string) => path.join(work.dir, name);
      const fresh = (name: string) => () => {
        rmSync(dir(name), { recursive: true, force: true });
        spawnSync('sync');
      };
      const manifest = JSON.parse(readFileSync(blob(image.layout, image.manifest.digest), 'utf8')) as ImageManifest;
      const layers = manifest.layers.map((l) => blob(image.layout, l.digest));
      const env = { ...process.env, NODE_EXTRA_CA_CERTS: '' };
      const store = await Store.open(image.layout);

      const cases: Case[] = [
        { ...command('umoci unpack', 'umoci', ['unpack', '--image', `${image.layout}:${image.ref}`, dir('umoci')]), prepare: fresh('umoci') },
        { ...command('tar -xzf (both layers)', 'sh', ['-c', `mkdir ${dir('tar')} && ${layers.map((l) => `tar -xzf ${l} -C ${dir('tar')}`).join(' && ')}`]), prepare: fresh('tar') },
        { ...command('oci unpack', ociBin, ['--store', image.layout, 'unpack', image.ref, dir('oci')], { env }), prepare: fresh('oci') },
        {
          name: 'unpack() in process',
          prepare: fresh('lib'),
          async run() {
            await unpack({ store, image: image.ref }, path.join(dir('lib'), 'rootfs'));
          },
        },
      ];
      const timings = await measure(cases, Math.max(3, Math.min(rounds, 9)));
      report(`unpack of ${image.ref} (2 gzip layers, ${(manifest.layers.reduce((n, l) => n + l.size, 0) / 1e6).toFixed(0)} MB) into a new bundle`, timings);
      const median = (name: string) => timings.find((t) => t.name === name)!.median;
      console.log(`  oci unpack / umoci unpack: ${(median('oci unpack') / median('umoci unpack')).toFixed(2)}x (target: at most 0.25x)`);
      console.log(`  oci unpack / tar -xzf:     ${(median('oci unpack') / median('tar -xzf (both layers)')).toFixed(2)}x (target: at most 1.2x)`);

      await breakdown(store, image.ref, layers, dir, Math.max(3, Math.min(rounds, 5)));
    } finally {
      work.remove();
    }
  },
};

// Where the time goes: the two halves of an unpack alone, then together.
async function breakdown(store: Store, ref: string, layers: string[], dir: (name: string) => string, rounds: number): Promise<void> {
  const plain = layers.map((_, i) => dir(`layer${i + 1}.tar`));
  for (const [i, layer] of layers.entries()) await pipeline(createReadStream(layer), createGunzip(), createWriteStream(plain[i]!));
  const fresh = (name: string) => () => {
    rmSync(dir(name), { recursive: true, force: true });
    spawnSync('sync');
  };
  const cases: Case[] = [
    command('gzip -dc (both layers, to /dev/null)', 'sh', ['-c', layers.map((l) => `gzip -dc < ${l} > /dev/null`).join(' && ')]),
    {
      name: 'inflate + diff_id hash only (worker, nothing written)',
      async run() {
        const { decompress } = await import('@oci/image/layer/decompress');
        const { Digester } = await import('@oci/image');
        for (const layer of layers) {
          const digester = new Digester();
          for await (const chunk of decompress(createReadStream(layer), 'gzip')) digester.update(chunk);
        }
      },
    },
    {
      name: 'apply only (pre-inflated tars)',
      prepare: fresh('plain'),
      async run() {
        await unpack({ layers: plain.map((file) => ({ stream: () => createReadStream(file, { highWaterMark: 1 << 20 }) })) }, dir('plain'));
      },
    },
    { name: 'both: unpack() in process', prepare: fresh('both'), run: async () => void (await unpack({ store, image: ref }, dir('both'))) },
  ];
  report('where the time goes (in process)', await measure(cases, rounds), 'both: unpack() in process');
  console.log(`  (apply = parse the tar and make every file with synchronous syscalls on the main thread; inflate runs in a worker and overlaps it)`);
}

function blob(layout: string, digest: string): string {
  return path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}
