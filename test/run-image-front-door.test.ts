/**
 * A warm `oci run IMAGE [ARG…]` without Node: the front door runs a command line run before from
 * the recipe Node left (packages/cli/src/run-recipe.ts, packages/native/src/front-door/run.c).
 * What the program sees, what the runtime's other commands see while it runs, what is left
 * after, and every case where the recipe may not be followed (then Node runs the line, as if
 * there were none). OCI_NATIVE_ONLY=1 proves a run was the front door's (a hand-off is exit
 * 125); OCI_NODE_ONLY=1 makes one Node's.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { pushBusybox } from './harness/busybox.js';
import { HANDED_TO_NODE, oci, ociFrontDoor } from './harness/cli.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let registry: Registry;
test.before(async () => {
  registry = await startRegistry();
  await pushBusybox(registry.host);
});
test.after.always(async () => {
  await registry?.stop();
});

type Path = 'Node' | 'front door';
const ONLY = { Node: { OCI_NODE_ONLY: '1' }, 'front door': { OCI_NATIVE_ONLY: '1' } };

/** A store holding busybox and a state root of its own, and `oci` bound to them. */
function workspace(t: ExecutionContext) {
  const store = tempDir('store');
  const cwd = tempDir('cwd');
  const state: StateRoot = stateRoot();
  t.teardown(() => {
    state.remove();
    store.remove();
    cwd.remove();
  });
  const env = (only?: Path) => ({ ...process.env, OCI_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, ...(only && ONLY[only]) });
  const args = (line: readonly string[]) => ['--store', store.dir, '--root', state.root, ...line];
  const run = (line: readonly string[], only?: Path) => oci(args(line), { env: env(only), cwd: cwd.dir, input: '' });
  const start = (line: readonly string[], only?: Path) => spawn(ociFrontDoor, args(line), { env: env(only), cwd: cwd.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.is(run(['pull', '--quiet', 'busybox']).status, 0);
  /** What the run left: bundles, snapshot users, containers, their state directories. */
  const leftovers = () => ({
    bundles: listed(path.join(store.dir, 'containers')),
    users: listed(path.join(store.dir, 'snapshots', 'users')),
    containers: run(['list', '--quiet']).stdout,
    states: listed(state.root).filter((name) => !name.startsWith('@')),
  });
  const recipes = () =>
    readdirSync(path.join(store.dir, 'snapshots', 'recipes', '@run')).map((name) => path.join(store.dir, 'snapshots', 'recipes', '@run', name));
  return { store: store.dir, cwd: cwd.dir, state, args, env, run, start, leftovers, recipes };
}

const listed = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
const NOTHING_LEFT = { bundles: [], users: [], containers: '', states: [] };
/** What a program prints of the ids of its container: the same in every run but for them. */
const withoutIds = (text: string) => text.replace(/oci-[0-9a-z]{8,}/g, 'ID');

/** The container's id, from its writable layer's path as the program printed it. */
const idIn = (text: string) => /oci-[0-9a-z]{8,}/.exec(text)?.[0];

async function ended(child: ChildProcess): Promise<{ status: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { status, stdout, stderr };
}

async function runningContainer(run: ReturnType<typeof workspace>['run']): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const ids = run(['list', '--quiet']).stdout.split('\n').filter(Boolean);
    if (ids.length === 1 && JSON.parse(run(['state', ids[0]!]).stdout).status === 'running') return ids[0]!;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no container came to run');
}

const PROBE = [
  'printf "[%s]\\n" "$0" "$@"',
  'id',
  'pwd',
  'hostname',
  'env | sort',
  'grep -E "^(Cap|NoNewPrivs|Seccomp)" /proc/self/status',
  'ulimit -n',
  'cat /proc/mounts',
  'ls -ln /dev',
  'echo to stderr >&2',
  'exit 3',
].join('; ');

test('the front door runs an image run before, from its recipe, with any command line: the program sees what it sees through Node, and nothing is left', (t) => {
  const { run, leftovers, recipes } = workspace(t);
  t.is(run(['run', 'busybox', 'true'], 'Node').status, 0);
  t.is(recipes().length, 1, 'Node left the recipe of the image');
  const line = ['run', 'busybox', 'sh', '-c', PROBE, 'zero', 'two words', 'a "quote"', 'ünïcödé', '-x', '--'];
  const byFrontDoor = run(line, 'front door');
  t.is(byFrontDoor.status, 3, byFrontDoor.stderr);
  t.is(byFrontDoor.stderr, 'to stderr\n');
  t.true(byFrontDoor.stdout.startsWith('[zero]\n[two words]\n[a "quote"]\n[ünïcödé]\n[-x]\n[--]\n'), byFrontDoor.stdout);
  t.deepEqual(leftovers(), NOTHING_LEFT);
  const byNode = run(line, 'Node');
  t.is(byNode.status, 3, byNode.stderr);
  t.is(withoutIds(byFrontDoor.stdout), withoutIds(byNode.stdout));
  t.regex(byFrontDoor.stdout, /upperdir=\S+\/containers\/oci-/, "the container's own writable layer");
  t.not(idIn(byFrontDoor.stdout), idIn(byNode.stdout), 'an id of its own');
  t.deepEqual(leftovers(), NOTHING_LEFT);

  const alone = run(['run', 'busybox'], 'front door');
  t.is(alone.status, 0, `the image's cmd (sh, reading nothing): ${alone.stderr}`);
  const missing = run(['run', 'busybox', 'no-such-program']);
  t.is(missing.status, 1);
  t.regex(
    missing.stderr,
    /^oci: run busybox: exec: "no-such-program": executable file not found in \$PATH\n$/,
    'Node says why, once the front door undid its try',
  );
  t.deepEqual(leftovers(), NOTHING_LEFT);
});

test("--rm and -i are the front door's too: the program reads our stdin only with -i", (t) => {
  const { cwd, args, env, run } = workspace(t);
  t.is(run(['run', '--rm', '-i', 'busybox', 'true']).status, 0, 'Node leaves a recipe with these options too');
  const withInput = (line: string[]) => oci(args(line), { env: env('front door'), cwd, input: 'from stdin\n' });
  const interactive = withInput(['run', '-i', '--rm', 'busybox', 'cat']);
  t.is(interactive.status, 0, interactive.stderr);
  t.is(interactive.stdout, 'from stdin\n');
  const closed = withInput(['run', '--rm', 'busybox', 'cat']);
  t.is(closed.status, 0, closed.stderr);
  t.is(closed.stdout, '', 'without -i, /dev/null');
  writeFileSync(path.join(cwd, 'config.json'), '{}');
  t.is(withInput(['run', '--rm', 'busybox']).status, 0, 'an image option makes IMAGE alone an image, config.json or not');
  t.is(withInput(['run', '--interactive', '--rm', '-t', 'busybox', 'true']).status, 125, "-t is Node's");
});

test('a later mount of a cgroup hierarchy (a container without a mount namespace of its own adds some) leaves the recipe good, as it leaves the layout', (t) => {
  const { run } = workspace(t);
  t.is(run(['run', 'busybox', 'true']).status, 0);
  // The first hierarchy mountinfo shows, mounted once more: v1 by its controllers, or cgroup2.
  const first = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' - ')[1]?.split(' ') ?? [])
    .find(([type]) => type === 'cgroup' || type === 'cgroup2')!;
  const [type, , options] = first as [string, string, string];
  const controllers = options.split(',').filter((option) => option !== 'rw' && option !== 'ro');
  const again = tempDir('cgroup');
  const mounted = spawnSync('mount', ['-t', type, ...(type === 'cgroup' ? ['-o', controllers.join(',')] : []), type, again.dir], { encoding: 'utf8' });
  t.teardown(() => {
    spawnSync('umount', [again.dir]);
    again.remove();
  });
  t.is(mounted.status, 0, mounted.stderr);
  const result = run(['run', 'busybox', 'echo', 'served'], 'front door');
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout, 'served\n');
});

test("while it runs, the front door's container is one like Node's: the same state, config.json, run.json and record; oci kill ends it", async (t) => {
  const { store, state, run, start, leftovers } = workspace(t);
  // Arguments JSON writes with escapes: config.json holds them as Node writes them.
  const line = ['run', 'busybox', 'sh', '-c', 'sleep 60', 'a "quote"\ttab\\', 'ünï\u2028'];
  const files = async (only: Path) => {
    const child = start(line, only);
    const id = await runningContainer(run);
    const bundle = path.join(store, 'containers', id);
    const read = (file: string) => readFileSync(file, 'utf8').replaceAll(id, 'ID');
    const cgroups = JSON.parse(readFileSync(path.join(state.root, id, 'state.json'), 'utf8')).cgroup.dirs as string[];
    const seen = {
      state: JSON.parse(run(['state', id]).stdout.replaceAll(id, 'ID')),
      stored: JSON.parse(read(path.join(state.root, id, 'state.json'))),
      config: read(path.join(bundle, 'config.json')),
      run: JSON.parse(read(path.join(bundle, 'run.json'))),
      record: read(path.join(store, 'snapshots', 'users', readdirSync(path.join(store, 'snapshots', 'users'))[0]!)),
      bundle: readdirSync(bundle).sort(),
      ps: run(['ps', '--format', 'json', id]).stdout,
    };
    t.is(seen.run.owner.pid, child.pid, 'the run that made the bundle owns it');
    const killed = run(['kill', id, 'KILL']);
    t.is(killed.status, 0, killed.stderr);
    const end = await ended(child);
    t.is(end.status, 137, end.stderr);
    t.deepEqual(leftovers(), NOTHING_LEFT);
    t.true(cgroups.length > 0);
    t.deepEqual(
      cgroups.filter((dir) => existsSync(dir)),
      [],
      'its cgroups are removed',
    );
    for (const key of ['pid', 'startTime', 'created'] as const) delete seen.stored[key];
    delete seen.state.pid;
    delete seen.state.created;
    seen.run.owner = 'OWNER';
    seen.ps = JSON.parse(seen.ps).length;
    return seen;
  };
  const byNode = await files('Node');
  t.deepEqual(await files('front door'), byNode);
});

test('a run whose container oci delete --force removed meanwhile ends as through Node: killed, nothing left, nothing said', async (t) => {
  const { run, start, leftovers } = workspace(t);
  const line = ['run', 'busybox', 'sleep', '60'];
  for (const only of ['Node', 'front door'] as const) {
    const child = start(line, only);
    t.is(run(['delete', '--force', await runningContainer(run)]).status, 0);
    const end = await ended(child);
    t.deepEqual([end.status, end.stdout, end.stderr], [137, '', ''], only);
    t.deepEqual(leftovers(), NOTHING_LEFT, only);
  }
});

/**
 * A cgroup v2 host, as far as the runtime can tell: a mount namespace where the only cgroup mount
 * is cgroup2 at /sys/fs/cgroup. Device rules then need the eBPF filter (no v1 devices controller).
 * The script runs both paths in it (a recipe's host facts are that namespace's), and prints for
 * each the programs attached to its container's cgroup and a digest of their instructions, as
 * bpftool reads them.
 */
const CGROUP_V2_HOST = `
set -e
mount --make-rprivate /
umount -l /sys/fs/cgroup
mount -t cgroup2 none /sys/fs/cgroup
oci() { "$OCI_BIN" --store "$STORE" --root "$ROOT" "$@"; }
(export OCI_NODE_ONLY=1; oci run busybox true)
for only in OCI_NODE_ONLY OCI_NATIVE_ONLY; do
  (export "$only=1"; oci run busybox sleep 30) &
  id=
  for i in $(seq 200); do id=$(oci list --quiet); [ -n "$id" ] && break; sleep 0.05; done
  [ -n "$id" ] || { echo "$only: no container"; exit 1; }
  attached=$(bpftool -j cgroup show "/sys/fs/cgroup/$id")
  program=$(echo "$attached" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
  types=$(echo "$attached" | python3 -c 'import json, sys; print(",".join(a["attach_type"] for a in json.load(sys.stdin)))')
  echo "$only $types $(bpftool prog dump xlated id "$program" | sha256sum | cut -c1-64)"
  oci kill "$id" KILL
  wait || true
done
`;

test('on a cgroup v2 host the front door attaches the eBPF device filter Node attaches', (t) => {
  const { store, state, cwd, leftovers } = workspace(t);
  const result = spawnSync('unshare', ['-m', 'sh', '-c', CGROUP_V2_HOST], {
    env: { ...process.env, OCI_BIN: ociFrontDoor, STORE: store, ROOT: state.root },
    cwd,
    encoding: 'utf8',
  });
  t.is(result.status, 0, result.stdout + result.stderr);
  const lines = result.stdout.trim().split('\n');
  t.is(lines.length, 2, result.stdout);
  const [byNode, byFrontDoor] = lines.map((line) => line.split(' ').slice(1).join(' ')) as [string, string];
  t.regex(byNode, /^cgroup_device [0-9a-f]{64}$/);
  t.is(byFrontDoor, byNode, 'the same program, attached the same way');
  t.deepEqual(leftovers(), NOTHING_LEFT);
});

test('our signals are passed on to the program, as through Node', async (t) => {
  const { run, start } = workspace(t);
  const line = ['run', 'busybox', 'sh', '-c', 'trap "exit 9" TERM; trap "exit 8" INT; while :; do sleep 0.05; done'];
  for (const [signal, status] of [
    ['SIGTERM', 9],
    ['SIGINT', 8],
  ] as const) {
    for (const only of ['Node', 'front door'] as const) {
      const child = start(line, only);
      await runningContainer(run);
      child.kill(signal);
      const end = await ended(child);
      t.is(end.status, status, `${signal} through the ${only}: ${end.stderr}`);
    }
  }
});

// Serial (ava runs these first): it changes the helper's mtime, which other tests' recipes record.
test.serial('the front door hands a line to Node, before making anything, without a recipe of this index.json, code, helper and host', (t) => {
  const { cwd, args, env, run, leftovers, recipes } = workspace(t);
  const line = ['run', 'busybox', 'true'];
  const handedOff = (why: string) => {
    const result = run(line, 'front door');
    t.is(result.status, 125, `${why}: ${result.stderr}`);
    t.regex(result.stderr, HANDED_TO_NODE, why);
    t.deepEqual(leftovers(), NOTHING_LEFT, why);
    t.is(run(line).status, 0, `${why}: Node runs it, and leaves a recipe again`);
    t.is(run(line, 'front door').status, 0, why);
  };
  handedOff('no recipe yet');
  for (const other of [
    ['run', '-e', 'A=1', 'busybox', 'true'],
    ['run', 'busybox:other', 'true'],
  ])
    t.is(run(other, 'front door').status, 125, `${other.join(' ')}: options, or another image`);
  const notUtf8 = spawnSync('/bin/sh', ['-c', 'exec "$0" "$@" "$(printf "\\377")"', ociFrontDoor, ...args(line)], { env: env('front door'), encoding: 'utf8' });
  t.is(notUtf8.status, 125, 'an argument that is not UTF-8 (Node would read it with U+FFFD)');
  const [recipe] = recipes() as [string];
  const edit = (change: (text: string) => string) => writeFileSync(recipe, change(readFileSync(recipe, 'latin1')), 'latin1');

  t.is(run(['tag', 'busybox', 'other']).status, 0);
  handedOff('another index.json');
  edit((text) => text.replace(/"code":"[0-9a-f]{64}"/, `"code":"${'0'.repeat(64)}"`));
  handedOff('other code');
  edit((text) => text.replace(/("\/proc\/sys\/kernel\/random\/boot_id":")[0-9a-f]/, '$1z'));
  handedOff('another boot');
  const helper = JSON.parse(readFileSync(recipe, 'latin1').split('\n')[0]!).helper.path as string;
  const { atime, mtime } = statSync(helper);
  utimesSync(helper, atime, new Date(mtime.getTime() + 1000));
  t.teardown(() => utimesSync(helper, atime, mtime));
  handedOff('another helper');
  t.is(run(['gc']).status, 0);
  t.false(existsSync(recipe), 'gc clears recipes');
  handedOff('gc cleared it');
  writeFileSync(path.join(cwd, 'config.json'), '{}');
  t.is(run(['run', 'busybox'], 'front door').status, 125, 'IMAGE alone beside a config.json is a bundle');
});

test('a run the front door cannot finish before the program starts is undone, its cgroups too, and run by Node', (t) => {
  const { run, leftovers, recipes } = workspace(t);
  const line = ['run', 'busybox', 'echo', 'ran'];
  t.is(run(line).status, 0);
  // The recipe's cgroups under names the test knows (a prefix to the id), and a device rule the
  // kernel refuses: the front door has made every cgroup directory when the write fails.
  const [recipe] = recipes() as [string];
  const text = readFileSync(recipe, 'latin1');
  const newline = text.indexOf('\n');
  const header = JSON.parse(text.slice(0, newline));
  const prefix = `oci-undone-${process.pid}-`;
  const named = (dir: string) => dir.replace('\x01', `${prefix}\x01`);
  header.cgroup.made = header.cgroup.made.map(named);
  header.cgroup.cpuset = header.cgroup.cpuset.map(named);
  header.cgroup.writes = header.cgroup.writes.map(([dir, ...rest]: string[]) => [named(dir!), ...rest]);
  header.cgroup.writes.at(-1)[2] = 'not a device rule';
  writeFileSync(recipe, JSON.stringify(header) + text.slice(newline), 'latin1');
  t.true(header.cgroup.made.length > 0);

  const failed = run(line, 'front door');
  t.is(failed.status, 125);
  t.regex(failed.stderr, /a cgroup limit cannot be written here/);
  t.is(failed.stdout, '', 'the program did not run');
  t.deepEqual(leftovers(), NOTHING_LEFT, 'what it made is undone');
  const made = header.cgroup.made.flatMap((dir: string) => listed(path.dirname(dir)).filter((entry) => entry.startsWith(prefix)));
  t.deepEqual(made, [], 'its cgroups are removed');
  const byNode = run(line);
  t.is(byNode.status, 0, byNode.stderr);
  t.is(byNode.stdout, 'ran\n');
  t.deepEqual(leftovers(), NOTHING_LEFT);
});

test('a front-door run killed with -9 takes its program with it; the next run sweeps what it left', async (t) => {
  const { run, start, leftovers } = workspace(t);
  t.is(run(['run', 'busybox', 'sleep', '0']).status, 0, 'a recipe');
  const child = start(['run', 'busybox', 'sleep', '60'], 'front door');
  const id = await runningContainer(run);
  const pid = JSON.parse(run(['state', id]).stdout).pid as number;
  child.kill('SIGKILL');
  await ended(child);
  // Dead: gone, or a zombie until whoever inherited it reaps it.
  const dead = () => !existsSync(`/proc/${pid}`) || / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/s, ')'));
  for (let i = 0; i < 100 && !dead(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.true(dead(), 'the program died with the run');
  t.deepEqual(leftovers().bundles, [id], 'its bundle is left');
  const next = run(['run', 'busybox', 'sleep', '0'], 'front door');
  t.is(next.status, 125, 'the front door leaves the sweep to Node');
  t.regex(next.stderr, /an abandoned run to sweep first/);
  t.is(run(['run', 'busybox', 'sleep', '0']).status, 0);
  t.deepEqual(leftovers(), NOTHING_LEFT, 'swept');
});
