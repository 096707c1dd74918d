/**
 * The runtime's commands killed with SIGKILL at random moments: `oci create`, `oci run`, `oci
 * exec` and `oci delete`. After each kill, `oci delete --force` (not for exec, whose container
 * goes on) must leave nothing: no process that the killed command started (each runs under a
 * subreaper, which adopts its orphans), no cgroup directory, no state directory, no mount under
 * the bundle; and the id must work again. The moments come from a seeded generator: the seed is
 * printed, and OCI_CRASH_SEED=N replays it.
 */

import { spawn, spawnSync } from 'node:child_process';
import { type Dirent, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { type TestBundle, testBundle } from './harness/bundle.js';
import { ociFrontDoor } from './harness/cli.js';
import { eventually, type StateRoot, stateRoot } from './harness/runtime.js';
import { seeded } from './harness/seeded.js';
import { tempDir } from './harness/tmp.js';

const SUBREAPER = fileURLToPath(new URL('../harness/subreaper.py', import.meta.url));
/** Debian's: a pyenv shim earlier in PATH takes a second and more to start it. */
const PYTHON = '/usr/bin/python3';
/** How long orphans get to die once their container is deleted: generous, it takes milliseconds. */
const REAP_SECONDS = 5;
/** The random rounds start until this has passed (44 take about 40 s on an idle machine). */
const ROUNDS_BUDGET_MS = 75_000;

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

interface Subreaped {
  /** The command's pid: it may be signalled while it surely runs (blocked in a hook). */
  pid: Promise<number>;
  /** "0", "1"…, or "signal 9". */
  exit: Promise<string>;
  /** What it wrote to stderr (once it exited). */
  stderr: Promise<string>;
  /** Kills it with SIGKILL, unless it ended already. */
  kill(): void;
  /** Waits for the orphans to exit; resolves with those that did not (they are then killed). */
  reap(): Promise<string[]>;
}

/** Subreapers not told to reap yet: a test that fails midway ends them (ending their stdin). */
const unreaped = new Set<NodeJS.WritableStream>();
test.afterEach.always(() => {
  for (const stdin of unreaped) stdin.end();
  unreaped.clear();
});

/** `oci --root ROOT ARGS` under the subreaper, killed after `killAfter` ms (never if undefined). */
function subreaped(args: readonly string[], killAfter?: number): Subreaped {
  const child = spawn(PYTHON, [SUBREAPER, String(killAfter === undefined ? -1 : killAfter / 1000), ociFrontDoor, '--root', state.root, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  unreaped.add(child.stdin!);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const line = async (prefix: string) => {
    const { value } = await lines.next();
    if (typeof value !== 'string' || !value.startsWith(`${prefix} `)) throw new Error(`subreaper said ${JSON.stringify(value)}, not '${prefix} …'`);
    return value.slice(prefix.length + 1);
  };
  const pid = line('pid').then(Number);
  const exit = pid.then(() => line('exit'));
  const stderr = exit.then(async () => JSON.parse(await line('stderr')) as string);
  return {
    pid,
    exit,
    stderr,
    kill: () => child.stdin!.write('kill\n'),
    async reap() {
      await stderr;
      unreaped.delete(child.stdin!);
      child.stdin!.end(`reap ${REAP_SECONDS}\n`);
      const left = await line('left');
      return left === 'none' ? [] : left.split(',');
    },
  };
}

/** Directories named `id` in any cgroup hierarchy. */
function cgroupDirs(id: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another's, removed meanwhile
      throw error;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const sub = path.join(dir, entry.name);
      if (entry.name === id) found.push(sub);
      else if (depth < 8) walk(sub, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}

const mountsUnder = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point) => point === dir || point?.startsWith(`${dir}/`));

/**
 * A busybox bundle, removed when the test ends; a mount a bug left under it is detached first,
 * so that removing it never deletes through a mount.
 */
async function crashBundle(t: { teardown(fn: () => void): void }, args: string[], adjust?: (spec: TestBundle['spec']) => void): Promise<TestBundle> {
  const bundle = await testBundle(t, args, adjust);
  t.teardown(() => {
    for (let tries = 0; tries < 10 && mountsUnder(bundle.dir).length > 0; tries++) spawnSync('umount', ['--recursive', '--lazy', mountsUnder(bundle.dir)[0]!]);
  });
  return bundle;
}

/** What a deleted container must not leave: its state directory, cgroups, mounts. */
function traces(id: string, bundle: TestBundle): string[] {
  return [
    ...(existsSync(path.join(state.root, id)) ? [`state directory ${path.join(state.root, id)}`] : []),
    ...cgroupDirs(id).map((dir) => `cgroup ${dir}`),
    ...mountsUnder(bundle.dir).map((point) => `mount ${point}`),
  ];
}

const cgroupProcs = (id: string) =>
  readFileSync(path.join(state.cgroups(id)[0]!, 'cgroup.procs'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(Number);

/**
 * The invariant after a round: nothing left once the container is deleted, and the id usable
 * again (a `run` of `quick` under it). Returns what is wrong, if anything.
 */
async function deletedWithoutTrace(id: string, bundle: TestBundle, commands: Subreaped[], quick: TestBundle): Promise<string[]> {
  const problems: string[] = [];
  const deleted = state.oci(['delete', '--force', id]);
  if (deleted.status !== 0) problems.push(`delete --force failed: ${deleted.stderr.trim()}`);
  for (const command of commands) problems.push(...(await command.reap()).map((process) => `process left: ${process}`));
  problems.push(...traces(id, bundle).map((trace) => `left: ${trace}`));
  const again = state.oci(['run', '--bundle', quick.dir, id]);
  if (again.status !== 0) problems.push(`run again failed: ${again.stderr.trim()}`);
  return problems;
}

/**
 * How long an unkilled command takes, in ms, with when `dir` appeared (if given), and the
 * command (to reap once its container is deleted).
 */
async function timed(args: readonly string[], dir?: string): Promise<{ took: number; appeared: number; command: Subreaped }> {
  const started = performance.now();
  const command = subreaped(args);
  if (dir) await made(dir, command);
  const appeared = performance.now() - started;
  if ((await command.exit) !== '0') throw new Error(`oci ${args.join(' ')} failed: ${await command.stderr}`);
  return { took: performance.now() - started, appeared, command };
}

/** Resolves once `dir` exists, or the command ended without making it. */
async function made(dir: string, command: Subreaped): Promise<void> {
  let ended = false;
  void command.exit.then(() => (ended = true));
  while (!ended && !existsSync(dir)) await sleep(1);
}

test.serial('create, run, exec and delete killed at random moments leave nothing that delete --force does not remove', async (t) => {
  const next = seeded(t);
  const { seed } = next;
  // Containers with their own namespaces, and with none (their mounts are in the host's).
  const isolated = await crashBundle(t, ['sleep', '1000']);
  const shared = await crashBundle(t, ['sleep', '1000'], (spec) => {
    spec.linux!.namespaces = [];
    delete spec.hostname;
    delete spec.linux!.maskedPaths;
    delete spec.linux!.readonlyPaths;
  });
  const quick = await crashBundle(t, ['true']);
  const id = (kind: string, n: number) => `crash-${kind}-${process.pid}-${n}`;
  const problems: string[] = [];
  const check = (what: string, found: string[]) => problems.push(...found.map((problem) => `seed ${seed}: ${what}: ${problem}`));

  // How long each command takes unkilled; for create and run, from when they made the state
  // directory (before, nothing has happened); `oci state`, the start-up every command has.
  const probe = id('probe', 0);
  const stateDir = path.join(state.root, probe);
  const created = await timed(['create', '--bundle', isolated.dir, probe], stateDir);
  const startUp = await timed(['state', probe]);
  const deleted = await timed(['delete', '--force', probe]);
  const ran = await timed(['run', '--bundle', quick.dir, probe], stateDir);
  const owner = subreaped(['run', '--detach', '--bundle', isolated.dir, id('exec', 0)]);
  t.is(await owner.exit, '0', await owner.stderr);
  const executed = await timed(['exec', id('exec', 0), 'true']);
  for (const { command } of [created, startUp, deleted, ran, executed]) t.deepEqual(await command.reap(), []);
  t.log(
    `unkilled, in ms: start-up ${startUp.took.toFixed(0)}, create ${created.took.toFixed(0)} (state directory at ${created.appeared.toFixed(0)}), delete ${deleted.took.toFixed(0)}, run ${ran.took.toFixed(0)} (${ran.appeared.toFixed(0)}), exec ${executed.took.toFixed(0)}`,
  );
  // A moment from `from` (or `to`, if the start-up measured longer) to a little after `to`.
  const moment = (from: number, to: number) => {
    const start = Math.min(from, to);
    return start + next() * (1.2 * to - start);
  };

  // create and run: killed once they made the container's state directory, a moment later.
  const createOrRun = async (kind: 'create' | 'run', n: number) => {
    const container = id(kind, n);
    const bundle = n % 2 ? isolated : shared;
    const { took, appeared } = kind === 'create' ? created : ran;
    const after = moment(0, took - appeared);
    const command = subreaped([kind, '--bundle', bundle.dir, container]);
    await made(path.join(state.root, container), command);
    await sleep(after);
    command.kill();
    await command.exit;
    check(
      `${kind} of ${container} killed ${after.toFixed(1)} ms after its state directory appeared`,
      await deletedWithoutTrace(container, bundle, [command], quick),
    );
  };
  // delete, of a running container: killed a moment after its start-up.
  const deleteRound = async (n: number) => {
    const container = id('delete', n);
    const bundle = n % 2 ? isolated : shared;
    const after = moment(startUp.took / 2, deleted.took);
    const what = `delete of ${container} killed ${after.toFixed(1)} ms after it started`;
    const running = subreaped(['run', '--detach', '--bundle', bundle.dir, container]);
    t.is(await running.exit, '0', `seed ${seed}: ${what}: run --detach: ${await running.stderr}`);
    const deleting = subreaped(['delete', '--force', container], after);
    await deleting.exit;
    check(what, await deletedWithoutTrace(container, bundle, [running, deleting], quick));
  };
  // exec: killed a moment after its start-up; the container goes on, what the exec started not.
  const execId = id('exec', 0);
  const [init] = cgroupProcs(execId);
  const execRound = async (n: number) => {
    const after = moment(startUp.took / 2, executed.took);
    const command = subreaped(['exec', execId, 'sleep', '1000'], after);
    await command.exit;
    const found = (await command.reap()).map((process) => `process left: ${process}`);
    const inside = cgroupProcs(execId).filter((pid) => pid !== init);
    if (inside.length > 0) found.push(`processes left in the container: ${inside.join(' ')}`);
    const status = JSON.parse(state.oci(['state', execId]).stdout) as { status: string; pid: number };
    if (status.status !== 'running' || status.pid !== init) found.push(`the container is ${status.status}, pid ${status.pid}`);
    check(`exec ${n} in ${execId} killed ${after.toFixed(1)} ms after it started`, found);
  };

  // Rounds of each kind in turn, started until ROUNDS_BUDGET_MS has passed (a loaded machine
  // runs fewer: each is said in the log).
  const started = performance.now();
  let rounds = 0;
  for (let n = 1; n <= 12 && performance.now() - started < ROUNDS_BUDGET_MS; n++) {
    await createOrRun('create', n);
    await createOrRun('run', n);
    rounds += 2;
    if (n > 10) continue;
    await deleteRound(n);
    await execRound(n);
    rounds += 2;
  }
  t.log(`${rounds} rounds in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  check(`delete of ${execId}`, await deletedWithoutTrace(execId, isolated, [owner], quick));
  t.deepEqual(problems, []);
});

/**
 * A hook that says it runs (the file `entered`) and waits until told to go on (the file `go`):
 * create is held at a known point. The host's /bin/sh, which createContainer hooks see too.
 */
function heldHook(t: { teardown(fn: () => void): void }) {
  const dir = tempDir('held');
  t.teardown(dir.remove);
  const entered = path.join(dir.dir, 'entered');
  const go = path.join(dir.dir, 'go');
  return {
    hook: { path: '/bin/sh', args: ['sh', '-c', `touch ${entered}; while [ ! -e ${go} ]; do sleep 0.01; done`] },
    entered: () => eventually(() => existsSync(entered)),
    release: () => writeFileSync(go, ''),
  };
}

interface ProcStat {
  state: string;
  ppid: number;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { state: fields[0]!, ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** Live (not zombie) children of `pid`: a stopped oci reaps nothing. */
const childrenOf = (pid: number) =>
  readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((child) => {
      const stat = procStat(child);
      return stat?.ppid === pid && stat.state !== 'Z';
    });

/**
 * The syscalls a container's process blocks in once it said "ready": read (for the runtime's
 * answer) or accept4 (for `start`), by their numbers on this machine's architecture.
 */
const READY_SYSCALLS: Readonly<Record<string, readonly string[]>> = { x64: ['0', '288'], arm64: ['63', '242'] };
const blockedWhenReady = (pid: number) => READY_SYSCALLS[process.arch]!.includes(readFileSync(`/proc/${pid}/syscall`, 'utf8').split(' ')[0]!);

test.serial('create killed while its createRuntime hook runs: delete --force removes its cgroups, and nothing runs on', async (t) => {
  const held = heldHook(t);
  const bundle = await crashBundle(t, ['sleep', '1000'], (spec) => {
    spec.hooks = { createRuntime: [held.hook] };
  });
  const quick = await crashBundle(t, ['true']);
  const id = `held-runtime-${process.pid}`;
  const create = subreaped(['create', '--bundle', bundle.dir, id]);
  await held.entered();
  t.not(cgroupDirs(id).length, 0, 'the cgroups exist by now');
  create.kill();
  t.is(await create.exit, 'signal 9');
  held.release(); // the hook, orphaned, ends
  t.deepEqual(await deletedWithoutTrace(id, bundle, [create], quick), []);
});

test.serial('create killed after its process said ready, before it was recorded: the process dies with it', async (t) => {
  const held = heldHook(t);
  const bundle = await crashBundle(t, ['sleep', '1000'], (spec) => {
    spec.hooks = { createContainer: [held.hook] };
  });
  const quick = await crashBundle(t, ['true']);
  const id = `held-ready-${process.pid}`;
  const create = subreaped(['create', '--bundle', bundle.dir, id]);
  const pid = await create.pid;
  await held.entered();
  // Stopped, oci reads nothing: the container's process goes on to say ready, and waits.
  process.kill(pid, 'SIGSTOP');
  held.release();
  const [container] = childrenOf(pid);
  t.truthy(container, 'the container process is a child of oci');
  await eventually(() => blockedWhenReady(container!));
  create.kill();
  t.is(await create.exit, 'signal 9');
  t.deepEqual(await deletedWithoutTrace(id, bundle, [create], quick), []);
});

test.serial("a foreground run's program dies with `oci run` killed by SIGKILL; its state stays until delete", async (t) => {
  const bundle = await crashBundle(t, ['sleep', '1000']);
  const quick = await crashBundle(t, ['true']);
  const id = `foreground-${process.pid}`;
  const run = subreaped(['run', '--bundle', bundle.dir, id]);
  await eventually(() => state.oci(['state', id]).stdout.includes('"running"'));
  run.kill();
  t.is(await run.exit, 'signal 9');
  await eventually(() => state.oci(['state', id]).stdout.includes('"stopped"'));
  t.deepEqual(await deletedWithoutTrace(id, bundle, [run], quick), []);
});

test.serial("a foreground exec's program dies with `oci exec` killed by SIGKILL; a detached one lives on", async (t) => {
  const bundle = await crashBundle(t, ['sleep', '1000']);
  const quick = await crashBundle(t, ['true']);
  const id = `exec-${process.pid}`;
  const owner = subreaped(['run', '--detach', '--bundle', bundle.dir, id]);
  t.is(await owner.exit, '0', await owner.stderr);
  const [init] = cgroupProcs(id);
  const exec = subreaped(['exec', id, 'sleep', '1000']);
  await eventually(() => cgroupProcs(id).length === 2);
  exec.kill();
  t.is(await exec.exit, 'signal 9');
  t.deepEqual(await exec.reap(), []);
  t.deepEqual(cgroupProcs(id), [init]);

  const detached = subreaped(['exec', '--detach', id, 'sleep', '1000']);
  t.is(await detached.exit, '0', await detached.stderr);
  t.is(cgroupProcs(id).length, 2, 'the detached program runs on');
  t.deepEqual(await deletedWithoutTrace(id, bundle, [owner, detached], quick), []);
});
