/**
 * `oci pull` of the ~200 MB two-layer Debian image (fixtures/debian.ts) from a loopback
 * registry into an empty store, against `skopeo copy docker://… oci:DIR:TAG` (target: at most
 * 0.5x skopeo's time); then a re-pull of the present image (target: under 100 ms). Both as the
 * CLI (a fresh process, so Node's start is in it) and as the library in this process, and with
 * and without NODE_EXTRA_CA_CERTS, which makes every Node process parse a CA bundle at start.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { type PullOptions, pull, Store } from '@oci/image';
import { ociFrontDoor } from '@oci/test/harness/cli';
import { startRegistry } from '@oci/test/harness/registry';
import type { Benchmark } from './benchmark.js';
import { pushDebian } from './fixtures/debian.js';
import { type Case, command, emptied, formatMs, measure, report } from './measure.js';

export const pullBenchmark: Benchmark = {
  name: 'pull',
  describe: 'oci pull of a 200 MB Debian image against skopeo copy; re-pull of a present image',
  async run({ rounds, work }) {
    const registry = await startRegistry();
    try {
      const ref = await pushDebian(registry.host);
      const cliEnv = { ...process.env, OCI_REGISTRY_MIRRORS: '', NODE_EXTRA_CA_CERTS: '' };
      const options: PullOptions = { hosts: { mirrors: new Map(), insecure: new Set() } };
      const dir = (name: string) => path.join(work, name);
      const empty = (name: string) => () => emptied(dir(name));

      const cold: Case[] = [
        {
          ...command('skopeo copy', 'skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir('skopeo')}:bookworm`]),
          prepare: empty('skopeo'),
        },
        { ...command('oci pull', ociFrontDoor, ['--store', dir('cli'), 'pull', ref], { env: cliEnv }), prepare: empty('cli') },
        {
          name: 'pull() in process',
          prepare: empty('lib'),
          async run() {
            await pull(await Store.open(dir('lib'), { create: true }), ref, options);
          },
        },
      ];
      const coldRounds = Math.max(5, Math.min(rounds, 15));
      report(`pull of ${ref} (2 layers, 93 MB compressed) into an empty store`, await measure(cold, coldRounds));
      await breakdown(ref, dir('breakdown'), options);

      const warm: Case[] = [
        command('node -e 0', process.execPath, ['-e', '0'], { env: cliEnv }),
        command('oci pull (present)', ociFrontDoor, ['--store', dir('cli'), 'pull', ref], { env: cliEnv }),
        ...(process.env.NODE_EXTRA_CA_CERTS
          ? [
              command('oci pull (present), NODE_EXTRA_CA_CERTS set', ociFrontDoor, ['--store', dir('cli'), 'pull', ref], {
                env: { ...cliEnv, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS },
              }),
            ]
          : []),
        {
          name: 'pull() in process (present)',
          async run() {
            await pull(await Store.open(dir('lib'), { create: true }), ref, options);
          },
        },
        command('skopeo copy (present)', 'skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir('skopeo')}:bookworm`]),
      ];
      const timings = await measure(warm, rounds, 2);
      report('re-pull of the present image (target: under 100 ms)', timings, 'oci pull (present)');
      const gap = timings[1]!.median - timings[0]!.median;
      console.log(`  oci pull (present) - node -e 0: ${formatMs(gap)} (the pull's own cost in a fresh process)`);
    } finally {
      await registry.stop();
    }
  },
};

/** One pull in this process with a clock on its phases: where the time goes. */
async function breakdown(ref: string, dir: string, options: PullOptions): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  const start = performance.now();
  const marks: string[] = [];
  const mark = (what: string) => marks.push(`${what} ${formatMs(performance.now() - start)}`);
  let store!: Store;
  await (async () => {
    store = await Store.open(dir, { create: true });
    mark('store open');
  })();
  await pull(store, ref, {
    ...options,
    onProgress(event) {
      if (event.type === 'resolved') mark('manifest resolved');
      if (event.type === 'blob-done') mark(`blob ${event.digest.slice(7, 15)} verified`);
      if (event.type === 'done') mark('published and named');
    },
  });
  console.log(`  one pull() in process: ${marks.join(', ')}`);
}
