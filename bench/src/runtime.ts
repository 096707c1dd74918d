/**
 * The runtime against Debian's runc 1.1.5, on one busybox bundle running /bin/true:
 * - `oci run` against `runc run` (target: within 1.5x), with and without NODE_EXTRA_CA_CERTS,
 *   with `node -e 0` and `oci --version` beside them to show where the time goes (`oci` is run as
 *   a program, as engines run it: its native front door, then Node);
 * - the library: a Node process creating, starting, waiting for and deleting containers itself
 *   (target: at least 5x faster per container than `runc run`), with the time of each step;
 * - 50 containers created and started at once, all waited for and deleted, and a check that
 *   nothing (state, cgroup, process) is left;
 * - exec of /bin/true into a running container: `oci exec` against `runc exec`, and the library.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultSpec } from '@oci/bundle/default-spec';
import { Runtime } from '@oci/runtime';
import { busyboxRootfs } from '@oci/test/harness/bundle';
import { ociFrontDoor } from '@oci/test/harness/cli';
import type { Benchmark } from './benchmark.js';
import { type Case, command, formatMs, measure, median, report } from './measure.js';

export const runtimeBenchmark: Benchmark = {
  name: 'runtime',
  describe: 'oci run and the runtime library against runc run (busybox /bin/true); 50 containers at once',
  async run({ rounds }) {
    // State roots on tmpfs (/run), as runc's and ours are by default.
    const work = mkdtempSync('/run/oci-bench-');
    const devNull = openSync('/dev/null', 'r+');
    try {
      const bundle = path.join(work, 'bundle');
      await busyboxRootfs(bundle);
      const spec = defaultSpec();
      spec.process!.terminal = false;
      spec.process!.args = ['/bin/true'];
      writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
      const roots = { runc: path.join(work, 'runc'), oci: path.join(work, 'oci'), lib: path.join(work, 'lib') };
      await cli(bundle, roots, rounds);
      await library(bundle, roots, rounds, devNull);
      await concurrent(bundle, roots, devNull);
      await execs(bundle, roots, rounds, devNull);
    } finally {
      closeSync(devNull);
      rmSync(work, { recursive: true, force: true });
    }
  },
};

let counter = 0;
const nextId = () => `bench-${process.pid}-${++counter}`;

function runcRun(bundle: string, root: string): Case {
  return {
    name: 'runc run',
    run() {
      return command('runc run', 'runc', ['--root', root, 'run', '--bundle', bundle, nextId()]).run();
    },
  };
}

async function cli(bundle: string, roots: Record<string, string>, rounds: number): Promise<void> {
  const withCa = process.env.NODE_EXTRA_CA_CERTS;
  const withoutCa = { ...process.env, NODE_EXTRA_CA_CERTS: '' };
  const variants: [string, NodeJS.ProcessEnv][] = [['without NODE_EXTRA_CA_CERTS', withoutCa]];
  if (withCa) variants.push([`with NODE_EXTRA_CA_CERTS=${withCa}`, process.env]);
  for (const [label, env] of variants) {
    const ociRun: Case = {
      name: 'oci run',
      run: () => command('oci run', ociFrontDoor, ['--root', roots.oci!, 'run', '--bundle', bundle, nextId()], { env }).run(),
    };
    // Node's own start as oci pays it: its front door keeps the CA bundle from Node.
    const cases = [
      runcRun(bundle, roots.runc!),
      ociRun,
      command('node -e 0', process.execPath, ['-e', '0'], { env: withoutCa }),
      command('oci --version', ociFrontDoor, ['--version'], { env }),
    ];
    if (env !== withoutCa) cases.push(command('node -e 0, CA bundle parsed', process.execPath, ['-e', '0'], { env }));
    const timings = await measure(cases, rounds, 3);
    report(`oci run of busybox /bin/true, ${label} (target: within 1.5x of runc)`, timings);
    const [runc, oci, node, version] = timings.map((t) => t.median) as [number, number, number, number];
    console.log(
      `  where oci run's ${formatMs(oci)} go: Node's own start ${formatMs(node)}, launching and loading the oci command ${formatMs(version - node)}, ` +
        `the runtime ${formatMs(oci - version)} (runc's whole run: ${formatMs(runc)})`,
    );
  }
}

async function library(bundle: string, roots: Record<string, string>, rounds: number, devNull: number): Promise<void> {
  const runtime = new Runtime({ root: roots.lib! });
  const steps: Record<'create' | 'start' | 'wait' | 'delete', number[]> = { create: [], start: [], wait: [], delete: [] };
  const one = async (record: boolean) => {
    const id = nextId();
    let t = performance.now();
    const lap = (step: keyof typeof steps) => {
      const now = performance.now();
      if (record) steps[step].push(now - t);
      t = now;
    };
    const container = await runtime.create(id, { bundle, stdio: [devNull, devNull, devNull] });
    lap('create');
    await runtime.start(id);
    lap('start');
    await container.wait();
    lap('wait');
    await runtime.delete(id);
    lap('delete');
  };
  const lib: Case = { name: 'library: create, start, wait, delete', run: () => one(true) };
  const inFlight = 4;
  const batch: Case = {
    name: `library: ${inFlight} at a time`,
    async run() {
      await Promise.all(Array.from({ length: inFlight }, () => one(false)));
    },
  };
  const timings = await measure([runcRun(bundle, roots.runc!), lib, batch], rounds, 3);
  report('a Node process running busybox /bin/true through the runtime library (target: at least 5x faster than runc run per container)', timings);
  const [runc, single, many] = timings.map((t) => t.median) as [number, number, number];
  console.log(
    `  per container: one at a time ${formatMs(single)} (${(runc / single).toFixed(2)}x faster than runc run), ${inFlight} at a time ${formatMs(many / inFlight)} (${((runc * inFlight) / many).toFixed(2)}x)`,
  );
  console.log(
    `  steps of one container (medians): ${Object.entries(steps)
      .map(([step, samples]) => `${step} ${formatMs(median(samples))}`)
      .join(', ')}`,
  );
}

async function concurrent(bundle: string, roots: Record<string, string>, devNull: number): Promise<void> {
  const runtime = new Runtime({ root: roots.lib! });
  const count = 50;
  const ids = Array.from({ length: count }, nextId);
  const started = performance.now();
  const exits = await Promise.all(
    ids.map(async (id) => {
      const container = await runtime.create(id, { bundle, stdio: [devNull, devNull, devNull] });
      await runtime.start(id);
      const exit = await container.wait();
      await runtime.delete(id);
      return exit;
    }),
  );
  const ours = performance.now() - started;
  const runcStarted = performance.now();
  const runcExits = await Promise.all(
    ids.map(
      (id) =>
        new Promise<number | null>((resolve) =>
          spawn('runc', ['--root', roots.runc!, 'run', '--bundle', bundle, id], { stdio: 'ignore' }).once('exit', resolve),
        ),
    ),
  );
  const runc = performance.now() - runcStarted;
  const leftState = existsSync(roots.lib!) ? readdirSync(roots.lib!).length : 0;
  const leftCgroups = ids.filter((id) => existsSync(`/sys/fs/cgroup/pids/${id}`) || existsSync(`/sys/fs/cgroup/unified/${id}`)).length;
  console.log(`\n${count} containers created and started at once, waited for and deleted`);
  console.log(
    `  library   ${formatMs(ours).padStart(9)}  (${formatMs(ours / count)} per container)  exits 0: ${exits.filter((e) => e.code === 0).length}/${count}`,
  );
  console.log(
    `  runc run  ${formatMs(runc).padStart(9)}  (${formatMs(runc / count)} per container)  exits 0: ${runcExits.filter((s) => s === 0).length}/${count}`,
  );
  console.log(`  left behind by the library: ${leftState} state directories, ${leftCgroups} cgroups`);
}

async function execs(bundle: string, roots: Record<string, string>, rounds: number, devNull: number): Promise<void> {
  // A bundle of its own, on the same rootfs: exec reads the container's config.json.
  const sleeping = `${bundle}-sleep`;
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = ['sleep', '1000'];
  spec.root!.path = path.join(bundle, 'rootfs');
  mkdirSync(sleeping);
  writeFileSync(path.join(sleeping, 'config.json'), JSON.stringify(spec));
  const ids = { runc: nextId(), oci: nextId(), lib: nextId() };
  const runtime = new Runtime({ root: roots.lib! });
  try {
    // Detached containers keep the stdio they are given: nothing a pipe would wait on.
    command('runc run -d', 'runc', ['--root', roots.runc!, 'run', '-d', '--bundle', sleeping, ids.runc], { stdio: 'ignore' }).run();
    command('oci run -d', ociFrontDoor, ['--root', roots.oci!, 'run', '-d', '--bundle', sleeping, ids.oci], { stdio: 'ignore' }).run();
    await runtime.run(ids.lib, { bundle: sleeping, detach: true, stdio: [devNull, devNull, devNull] });
    const timings = await measure(
      [
        command('runc exec', 'runc', ['--root', roots.runc!, 'exec', ids.runc, '/bin/true']),
        command('oci exec', ociFrontDoor, ['--root', roots.oci!, 'exec', ids.oci, '/bin/true']),
        {
          name: 'library: exec',
          run: async () => void (await runtime.exec(ids.lib, { changes: { args: ['/bin/true'] }, stdio: [devNull, devNull, devNull] })),
        },
      ],
      rounds,
      3,
    );
    report('exec of busybox /bin/true into a running container', timings);
  } finally {
    spawnSync('runc', ['--root', roots.runc!, 'delete', '--force', ids.runc]);
    spawnSync(ociFrontDoor, ['--root', roots.oci!, 'delete', '--force', ids.oci]);
    await runtime.delete(ids.lib, { force: true });
  }
}
