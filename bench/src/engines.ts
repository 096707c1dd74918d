/**
 * The runtime as engines drive it, one process per operation, against Debian's runc 1.1.5:
 * - `ctr run --rm busybox true` (containerd 1.6's runc v2 shim: create, start, delete, delete
 *   --force) and `podman run --rm busybox true` (conmon: create, start, delete --force), through
 *   runc, through `oci` (its front door, packages/cli/bin/oci, given to the engine by path as
 *   users do) and through `oci` with OCI_NODE_ONLY=1 (every call in Node, as before the front
 *   door); targets: ctr within 1.15x of runc, podman within 1.1x;
 * - each hot verb alone (state, start, kill, delete, delete --force of a container that is gone,
 *   ps, pause, resume), timed call by call over one container's life; target: within 2x of runc.
 *   create is timed too: it stays in Node, and is what remains of the engines' difference.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultSpec } from '@oci/bundle/default-spec';
import { busyboxRootfs } from '@oci/test/harness/bundle';
import { pushBusybox } from '@oci/test/harness/busybox';
import { ociFrontDoor } from '@oci/test/harness/cli';
import { startContainerd } from '@oci/test/harness/containerd';
import { startPodman } from '@oci/test/harness/podman';
import { startRegistry } from '@oci/test/harness/registry';
import type { Benchmark } from './benchmark.js';
import { type Case, formatMs, measure, median, report } from './measure.js';

const RUNC = '/usr/sbin/runc';

export const enginesBenchmark: Benchmark = {
  name: 'engines',
  describe: 'ctr run --rm and podman run --rm through runc and oci; oci state/start/kill/delete… against runc',
  async run({ rounds }) {
    const work = mkdtempSync('/run/oci-bench-engines-');
    try {
      // The Node path, as engines reached oci before the front door: one more sh (~1 ms).
      const nodeOnly = path.join(work, 'oci');
      writeFileSync(nodeOnly, `#!/bin/sh\nOCI_NODE_ONLY=1 exec ${ociFrontDoor} "$@"\n`);
      chmodSync(nodeOnly, 0o755);
      const runtimes: [string, string][] = [
        ['runc', RUNC],
        ['oci', ociFrontDoor],
        ['oci, Node only', nodeOnly],
      ];
      await engines(runtimes, rounds);
      await verbs(work, rounds);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};

async function engines(runtimes: [string, string][], rounds: number): Promise<void> {
  const registry = await startRegistry();
  const containerd = await startContainerd();
  // Podman passes --log-format=json only to the runtimes it lists by base name.
  const podman = startPodman({ insecureRegistries: [registry.host], jsonRuntimes: ['oci'] });
  try {
    const image = await pushBusybox(registry.host);
    await containerd.pull(image);
    await podman.pull(image);
    let counter = 0;
    const ctr = runtimes.map(
      ([name, runtime]): Case => ({
        name: `ctr run --rm via ${name}`,
        async run() {
          const result = await containerd.ctr(['run', '--rm', ...containerd.runOptions(runtime), image, `bench-${++counter}`, 'true']);
          if (result.status !== 0) throw new Error(`ctr run via ${name}: ${result.stderr}`);
        },
      }),
    );
    report('ctr run --rm busybox true (target: oci within 1.15x of runc)', await measure(ctr, rounds, 2));
    const podmanRuns = runtimes.map(
      ([name, runtime]): Case => ({
        name: `podman run --rm via ${name}`,
        async run() {
          const result = await podman.podman(['run', '--rm', ...podman.runOptions(runtime), image, 'true']);
          if (result.status !== 0) throw new Error(`podman run via ${name}: ${result.stderr}`);
        },
      }),
    );
    report('podman run --rm busybox true (target: oci within 1.1x of runc)', await measure(podmanRuns, rounds, 2));
  } finally {
    await containerd.stop();
    await podman.stop();
    await registry.stop();
  }
}

/** Each verb engines call, timed alone, over the life of one container per runtime and round. */
async function verbs(work: string, rounds: number): Promise<void> {
  const bundle = path.join(work, 'bundle');
  await busyboxRootfs(bundle);
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = ['sleep', '1000'];
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
  const runtimes: [string, string][] = [
    ['runc', RUNC],
    ['oci', ociFrontDoor],
  ];
  const steps = ['create (Node)', 'start', 'state', 'ps --format json', 'pause', 'resume', 'kill', 'delete', 'delete --force (gone)'];
  const samples = new Map(runtimes.map(([name]) => [name, new Map(steps.map((step) => [step, [] as number[]]))]));
  let counter = 0;
  for (let round = 0; round < rounds + 2; round++) {
    for (const [name, file] of runtimes) {
      const root = path.join(work, `root-${name}`);
      const id = `verbs-${++counter}`;
      const call = (args: string[]) => {
        const started = process.hrtime.bigint();
        const result = spawnSync(file, ['--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
        if (result.status !== 0) throw new Error(`${name} ${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
        return { elapsed, stdout: String(result.stdout) };
      };
      const timed = (step: string, args: string[]) => {
        const { elapsed } = call(args);
        if (round >= 2) samples.get(name)!.get(step)!.push(elapsed);
      };
      // The container keeps the stdio it is given: nothing a pipe would wait on.
      const started = process.hrtime.bigint();
      const created = spawnSync(file, ['--root', root, 'create', '--bundle', bundle, id], { stdio: 'ignore' });
      if (created.status !== 0) throw new Error(`${name} create: exit ${created.status}`);
      if (round >= 2)
        samples
          .get(name)!
          .get('create (Node)')!
          .push(Number(process.hrtime.bigint() - started) / 1e6);
      timed('start', ['start', id]);
      timed('state', ['state', id]);
      timed('ps --format json', ['ps', '--format', 'json', id]);
      timed('pause', ['pause', id]);
      timed('resume', ['resume', id]);
      timed('kill', ['kill', id, '9']);
      while (!call(['state', id]).stdout.includes('"stopped"')) await new Promise((resolve) => setTimeout(resolve, 2));
      timed('delete', ['delete', id]);
      timed('delete --force (gone)', ['delete', '--force', id]);
    }
  }
  console.log(`\neach call engines make, alone (median of ${rounds} runs; target: oci within 2x of runc)`);
  const width = Math.max(...steps.map((s) => s.length));
  for (const step of steps) {
    const [runc, oci] = runtimes.map(([name]) => median(samples.get(name)!.get(step)!)) as [number, number];
    console.log(`  ${step.padEnd(width)}  runc ${formatMs(runc).padStart(8)}  oci ${formatMs(oci).padStart(8)}  ${(oci / runc).toFixed(2)}x`);
  }
}
