/**
 * The runtime as a library: a Node process creating, starting, waiting for and deleting
 * containers itself; where the container's processes live (never with Node); status read
 * honestly from the system; the helper run from a sealed copy; 50 containers at once.
 */

import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { helperPath } from '@oci/native';
import { Runtime, type RuntimeError } from '@oci/runtime';
import test from 'ava';
import { type TestBundle, testBundle, uniqueId } from './harness/bundle.js';
import { tempDir } from './harness/tmp.js';
import { waitFor } from './harness/wait.js';

let root: ReturnType<typeof tempDir>;
let runtime: Runtime;
let devNull: number;
test.before(() => {
  root = tempDir('lib-state');
  runtime = new Runtime({ root: root.dir });
  devNull = openSync('/dev/null', 'r+');
});
test.after.always(async () => {
  // Whatever a failed test left running goes before its state does.
  for (const { id } of (await runtime?.list()) ?? []) await runtime.delete(id, { force: true });
  root?.remove();
  if (devNull !== undefined) closeSync(devNull);
});

function created(t: { teardown(fn: () => Promise<void> | void): void }, b: TestBundle, id = uniqueId('lib')) {
  t.teardown(() => runtime.delete(id, { force: true }));
  return runtime.create(id, { bundle: b.dir, stdio: [devNull, devNull, devNull] });
}

const procs = (dir: string) => readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean).map(Number);
const stateFile = (id: string) => path.join(root.dir, id, 'state.json');

test('create, start, wait and delete from a Node process; the exit status comes back', async (t) => {
  const b = await testBundle(t, ['sh', '-c', 'exit 7']);
  const container = await created(t, b);
  t.is((await runtime.state(container.id)).status, 'created');
  await runtime.start(container.id);
  t.deepEqual(await container.wait(), { code: 7 });
  t.is((await runtime.state(container.id)).status, 'stopped');
  await runtime.delete(container.id);
  t.false(existsSync(path.join(root.dir, container.id)));
});

test('exec in the foreground resolves as wait does: { code } or { signal }', async (t) => {
  const b = await testBundle(t, ['sleep', '300']);
  const container = await created(t, b);
  await runtime.start(container.id);
  const quiet = { stdio: [devNull, devNull, devNull] as const };
  t.deepEqual(await runtime.exec(container.id, { changes: { args: ['sh', '-c', 'exit 3'] }, ...quiet }), { code: 3 });
  t.deepEqual(await runtime.exec(container.id, { changes: { args: ['sh', '-c', 'kill -KILL $$'] }, ...quiet }), { signal: 9 });
});

test("a detached exec resolves with the program's pid, and the program outlives its caller", async (t) => {
  const b = await testBundle(t, ['sleep', '300']);
  const container = await created(t, b);
  await runtime.start(container.id);
  // Another Node process execs and exits, as `oci exec -d` does: the program is that process's
  // child (the helper clones with CLONE_PARENT) until it exits, then the host's to reap.
  // The program gets /dev/null: our pipe would hold spawnSync until the program ends.
  const caller = [
    "import { openSync } from 'node:fs';",
    "import { Runtime } from '@oci/runtime';",
    "const devNull = openSync('/dev/null', 'r+');",
    `const started = await new Runtime({ root: ${JSON.stringify(root.dir)} }).exec(${JSON.stringify(container.id)}, { changes: { args: ['sleep', '300'] }, detach: true, stdio: [devNull, devNull, devNull] });`,
    'console.log(JSON.stringify(started));',
  ].join('\n');
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', caller], { cwd: import.meta.dirname, encoding: 'utf8', timeout: 60_000 });
  t.is(result.status, 0, result.stderr);
  const { pid } = JSON.parse(result.stdout) as { pid: number };
  t.regex(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^sleep\0/);
  const { cgroup } = JSON.parse(readFileSync(stateFile(container.id), 'utf8')) as { cgroup: { dirs: string[] } };
  t.true(procs(cgroup.dirs[0]!).includes(pid), 'in the container');
});

test('a detached exec leaves nothing to its caller: its program is reaped when it ends, so the container can end', async (t) => {
  const b = await testBundle(t, ['sleep', '300']);
  const container = await created(t, b);
  await runtime.start(container.id);
  const quiet = { stdio: [devNull, devNull, devNull] as const };
  const { pid: ended } = await runtime.exec(container.id, { changes: { args: ['true'] }, detach: true, ...quiet });
  const { pid: running } = await runtime.exec(container.id, { changes: { args: ['sleep', '300'] }, detach: true, ...quiet });
  // Our child (the helper clones it so): unreaped, it would stay in /proc as a zombie.
  await waitFor(() => !existsSync(`/proc/${ended}`), 'the ended program reaped', 10_000);
  await runtime.kill(container.id, 'KILL');
  // The kernel lets a pid namespace's first process end only once every other process in it
  // was reaped: a zombie of ours kept wait() waiting for ever.
  const hung = new Promise((resolve) => setTimeout(resolve, 30_000, 'still waiting').unref());
  t.deepEqual(await Promise.race([container.wait(), hung]), { signal: 9 });
  t.false(existsSync(`/proc/${running}`));
});

test("Node is never in the container's cgroups; the container's first process is in each", async (t) => {
  const b = await testBundle(t, ['sleep', '30']);
  const container = await created(t, b);
  const { cgroup } = JSON.parse(readFileSync(stateFile(container.id), 'utf8')) as { cgroup: { dirs: string[] } };
  t.true(cgroup.dirs.length >= 2);
  for (const dir of cgroup.dirs) t.deepEqual(procs(dir), [container.pid], dir);
  t.notRegex(readFileSync('/proc/self/cgroup', 'utf8'), new RegExp(container.id));
  // What the container is charged at start is the helper's few pages, not this Node process
  // (whose resident set alone is tens of megabytes).
  const memory = cgroup.dirs.find((dir) => dir.includes('/memory/'))!;
  const charged = Number(readFileSync(path.join(memory, 'memory.usage_in_bytes'), 'utf8'));
  const ours = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
  t.true(charged < 8 << 20 && charged < ours / 4, `charged ${charged} bytes, Node's RSS ${ours}`);
});

test('the first process runs the helper from a sealed copy, not the file on disk (CVE-2019-5736)', async (t) => {
  const b = await testBundle(t, ['true']);
  const container = await created(t, b);
  t.regex(readlinkSync(`/proc/${container.pid}/exe`), /^\/memfd:oci-helper \(deleted\)$/);
  t.not(statSync(`/proc/${container.pid}/exe`).ino, statSync(helperPath()).ino);
  // The file being executed is the copy: writing through /proc/PID/exe cannot reach the helper
  // on disk (the copy's seals are tested with the addon).
  const error = t.throws(() => writeFileSync(`/proc/${container.pid}/exe`, 'overwritten'));
  t.true(['ETXTBSY', 'EPERM'].includes((error as NodeJS.ErrnoException).code!));
});

test('status is read from the system: a dead process is stopped, a reused pid is not the container', async (t) => {
  const b = await testBundle(t, ['sleep', '30']);
  const container = await created(t, b);
  await runtime.start(container.id);
  t.is((await runtime.state(container.id)).status, 'running');
  // Pretend the pid now belongs to another process (one started at another time).
  const saved = readFileSync(stateFile(container.id), 'utf8');
  const stored = JSON.parse(saved) as { startTime: string };
  writeFileSync(stateFile(container.id), JSON.stringify({ ...stored, startTime: String(Number(stored.startTime) + 1) }));
  t.like(await runtime.state(container.id), { status: 'stopped', pid: 0 });
  const refused = await t.throwsAsync(runtime.kill(container.id, 'KILL'));
  t.is((refused as RuntimeError).code, 'ENOTRUNNING');
  t.true(existsSync(`/proc/${container.pid}`), 'the process was not signalled');
  writeFileSync(stateFile(container.id), saved);
  await runtime.kill(container.id, 'KILL');
  t.deepEqual(await container.wait(), { signal: 9 });
  t.is((await runtime.state(container.id)).status, 'stopped');
});

test('50 containers created and started concurrently all run, and all are deleted with nothing left', async (t) => {
  const out = tempDir('fifty');
  t.teardown(out.remove);
  const b = await testBundle(t, ['sh', '-c', 'echo "$$ $(hostname)" >> /out/ran'], (spec) => {
    spec.mounts!.push({ destination: '/out', type: 'bind', source: out.dir, options: ['rbind', 'rw'] });
  });
  const ids = Array.from({ length: 50 }, () => uniqueId('fifty'));
  const results = await Promise.all(
    ids.map(async (id) => {
      const container = await runtime.create(id, { bundle: b.dir, stdio: [devNull, devNull, devNull] });
      await runtime.start(id);
      const exit = await container.wait();
      const cgroups = (JSON.parse(readFileSync(stateFile(id), 'utf8')) as { cgroup: { dirs: string[] } }).cgroup.dirs;
      await runtime.delete(id);
      return { exit, cgroups };
    }),
  );
  t.true(results.every((r) => r.exit.code === 0));
  // Each ran as pid 1 of its own pid namespace.
  t.deepEqual(readFileSync(path.join(out.dir, 'ran'), 'utf8'), '1 oci\n'.repeat(50));
  t.deepEqual(
    readdirSync(root.dir).filter((name) => name.startsWith('fifty-')),
    [],
  );
  t.deepEqual(
    results.flatMap((r) => r.cgroups).filter((dir) => existsSync(dir)),
    [],
  );
});
