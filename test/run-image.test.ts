/**
 * `oci run IMAGE [COMMAND [ARG…]]` as a docker or podman user types it: the image pulled if
 * missing (from the real registry, through a mirror setting), run in the foreground with our
 * stdio from an overlay of its snapshots, its exit status ours, and nothing left afterwards;
 * the daily options; runc's reading of `oci run` unchanged beside it.
 */

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { pushBusybox } from './harness/busybox.js';
import { oci, ociBin } from './harness/cli.js';
import { runWithResize } from './harness/pty.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let registry: Registry;
/** A store holding busybox already (runs from it are warm), and a state root. */
let warm: string;
let state: StateRoot;
test.before(async () => {
  registry = await startRegistry();
  await pushBusybox(registry.host);
  warm = tempDir('store').dir;
  state = stateRoot();
  const pulled = oci(['--store', warm, 'pull', '--quiet', 'busybox'], { env: env() });
  if (pulled.status !== 0) throw new Error(pulled.stderr);
});
test.after.always(async () => {
  await registry?.stop();
  state?.remove();
});

const env = () => ({ ...process.env, OCI_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, HOME: '/nonexistent' });
/** `oci --store STORE --root ROOT …` from `cwd` (an empty directory by default), stdin empty. */
function run(args: string[], { store = warm, cwd = tempDir('cwd').dir, input = '' } = {}) {
  return oci(['--store', store, '--root', state.root, ...args], { env: env(), cwd, input });
}

test('oci run busybox echo hi: pulled into an empty store, run, and nothing left behind', (t) => {
  const store = tempDir('store');
  t.teardown(store.remove);
  const result = run(['run', 'busybox', 'echo', 'hi'], { store: store.dir });
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout, 'hi\n');
  t.is(result.stderr, '');
  t.deepEqual(readdirSync(path.join(store.dir, 'containers')), [], 'no bundle left');
  t.deepEqual(readdirSync(path.join(store.dir, 'snapshots', 'users')), [], 'no snapshot user left');
  t.is(readdirSync(path.join(store.dir, 'snapshots', 'sha256')).length, 1, 'the layer stays applied, for the next run');
  t.is(run(['list', '--quiet']).stdout, '', 'no container left');
  t.regex(run(['images'], { store: store.dir }).stdout, /docker\.io\/library\/busybox:latest/);
});

test("the exit status is the program's", (t) => {
  t.is(run(['run', 'busybox', 'sh', '-c', 'exit 7']).status, 7);
});

test("the command line after IMAGE is the container's, options and all", (t) => {
  const result = run(['run', 'busybox', 'ls', '-d', '/bin', '--', '-v']);
  t.is(result.stdout, '/bin\n');
  t.regex(result.stderr, /-v/);
});

test('-e, --env-file, -w, -u, --entrypoint and --hostname change the process as docker does', (t) => {
  const dir = tempDir('env');
  t.teardown(dir.remove);
  writeFileSync(path.join(dir.dir, 'env'), '# a comment\nFROM_FILE=yes\n\nFROM_HERE\n');
  const script = 'echo "$GREETING $FROM_FILE $FROM_HERE $(pwd) $(id -u):$(id -g) $(hostname)"';
  const result = oci(
    [
      '--store',
      warm,
      '--root',
      state.root,
      'run',
      '-e',
      'GREETING=hello',
      '--env-file',
      path.join(dir.dir, 'env'),
      '-w',
      '/tmp',
      '-u',
      'daemon',
      '--hostname',
      'box',
      'busybox',
      'sh',
      '-c',
      script,
    ],
    { env: { ...env(), FROM_HERE: 'passed' }, input: '' },
  );
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout, 'hello yes passed /tmp 1:1 box\n');
  const entry = run(['run', '--entrypoint', 'echo', 'busybox', 'from', 'echo']);
  t.is(entry.stdout, 'from echo\n');
});

test('stdin reaches the program only with -i; -t gives it a terminal that follows ours', async (t) => {
  t.is(run(['run', '-i', 'busybox', 'cat'], { input: 'typed\n' }).stdout, 'typed\n');
  t.is(run(['run', 'busybox', 'cat'], { input: 'not passed\n' }).stdout, '');
  const tty = await runWithResize({
    command: [
      process.execPath,
      ociBin,
      '--store',
      warm,
      '--root',
      state.root,
      'run',
      '-it',
      'busybox',
      'sh',
      '-c',
      'stty size; while read line; do stty size; done',
    ],
    initial: [24, 80],
    first: '24 80',
    resized: [30, 100],
    afterResize: '30 100',
  });
  t.is(tty.status, 0, tty.output);
});

test('-v binds host paths (ro and rw, made when missing); --read-only makes the root read-only', (t) => {
  const host = tempDir('volume');
  t.teardown(host.remove);
  writeFileSync(path.join(host.dir, 'in'), 'from the host\n');
  const made = path.join(host.dir, 'made', 'here');
  const script = 'cat /ro/in; touch /ro/x 2>/dev/null || echo ro; echo out > /rw/out; touch /root-file 2>/dev/null || echo root-ro';
  const result = run(['run', '-v', `${host.dir}:/ro:ro`, '-v', `${made}:/rw`, '--read-only', 'busybox', 'sh', '-c', script]);
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout, 'from the host\nro\nroot-ro\n');
  t.is(readFileSync(path.join(made, 'out'), 'utf8'), 'out\n');
  const bad = run(['run', '-v', 'nocolon', 'busybox', 'true']);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /^oci: run busybox: volume 'nocolon': expected SRC:DST\[:ro\]\n$/);
});

test("--memory, --cpus and --pids-limit become cgroup limits; --network host shares the host's interfaces, none (the default) has loopback only", (t) => {
  const limits = run([
    'run',
    '--memory',
    '64m',
    '--cpus',
    '0.5',
    '--pids-limit',
    '20',
    'busybox',
    'sh',
    '-c',
    'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max',
  ]);
  t.is(limits.status, 0, limits.stderr);
  t.is(limits.stdout, `${64 << 20}\n50000\n20\n`);
  const interfaces = (args: string[]) => Number(run(['run', ...args, 'busybox', 'sh', '-c', 'ls /sys/class/net | wc -l']).stdout.trim());
  t.is(interfaces([]), 1);
  t.is(interfaces(['--network', 'host']), readdirSync('/sys/class/net').length);
});

test('-d prints the id and leaves the container running, its output in output.log; oci delete removes it with its writable layer', (t) => {
  const detached = state.ociDetached(['--store', warm, 'run', '-d', 'busybox', 'sh', '-c', 'echo started; exec sleep 60']);
  t.is(detached.status, 0, detached.stderr);
  const id = detached.stdout.trim();
  t.regex(id, /^oci-/);
  const bundle = path.join(warm, 'containers', id);
  t.is(JSON.parse(run(['state', id]).stdout).status, 'running');
  t.is(readFileSync(path.join(bundle, 'output.log'), 'utf8'), 'started\n');
  t.is(run(['delete', '--force', id]).status, 0);
  t.false(existsSync(bundle));
});

test('--name keeps the stopped container and its writable layer until oci delete; a name in use is refused', (t) => {
  const first = run(['run', '--name', 'kept', 'busybox', 'sh', '-c', 'echo data > /file']);
  t.is(first.status, 0, first.stderr);
  t.is(JSON.parse(run(['state', 'kept']).stdout).status, 'stopped');
  t.is(readFileSync(path.join(warm, 'containers', 'kept', 'upper', 'file'), 'utf8'), 'data\n');
  const again = run(['run', '--name', 'kept', 'busybox', 'true']);
  t.is(again.status, 1);
  t.regex(again.stderr, /^oci: run busybox: container kept already exists/);
  t.is(run(['delete', 'kept']).status, 0);
  t.false(existsSync(path.join(warm, 'containers', 'kept')));
  t.is(run(['run', '--name', 'kept', '--rm', 'busybox', 'true']).status, 0, '--rm with --name removes it after all');
  t.false(existsSync(path.join(warm, 'containers', 'kept')));
});

test('--pull never runs only what the store has; --pull always asks the registry again', (t) => {
  const store = tempDir('store');
  t.teardown(store.remove);
  const never = run(['run', '--pull', 'never', 'busybox', 'true'], { store: store.dir });
  t.is(never.status, 1);
  t.is(never.stderr, 'oci: run busybox: no image named busybox in the store\n');
  t.is(run(['run', '--pull', 'always', 'busybox', 'true'], { store: store.dir }).status, 0);
  t.is(run(['run', '--pull', 'never', 'busybox', 'true'], { store: store.dir }).status, 0);
});

test("runc's reading stays: oci run [ID] in a bundle directory, oci run -b BUNDLE ID; mixing the readings is refused", (t) => {
  const bundle = tempDir('bundle');
  t.teardown(bundle.remove);
  t.is(run(['unpack', '--overlay', 'busybox', bundle.dir]).status, 0);
  const config = JSON.parse(readFileSync(path.join(bundle.dir, 'config.json'), 'utf8'));
  config.process.args = ['echo', 'from the bundle'];
  writeFileSync(path.join(bundle.dir, 'config.json'), JSON.stringify(config));
  t.is(run(['run', 'busybox'], { cwd: bundle.dir }).stdout, 'from the bundle\n', 'one argument with a config.json here: a container ID');
  t.is(run(['run'], { cwd: bundle.dir }).stdout, 'from the bundle\n');
  t.is(run(['run', '-b', bundle.dir, 'an-id']).stdout, 'from the bundle\n');
  t.is(run(['run', 'busybox', 'echo', 'an image'], { cwd: bundle.dir }).stdout, 'an image\n', 'a command after it: an IMAGE');
  t.is(run(['run', '--rm', 'busybox'], { cwd: bundle.dir }).status, 0, 'an image option: an IMAGE');
  const mixed = run(['run', '-b', bundle.dir, '-e', 'A=1', 'x']);
  t.is(mixed.status, 2);
  t.regex(mixed.stderr, /--bundle runs a bundle and --env an image: not both/);
  t.regex(run(['run', '--help']).stdout, /Which one: runc's when there is no argument/);
});

test('a run killed with -9 leaves nothing the next run trips on: its container and bundle are swept', async (t) => {
  const store = tempDir('store');
  t.teardown(store.remove);
  t.is(run(['pull', '--quiet', 'busybox'], { store: store.dir }).status, 0);
  const child = spawn(ociBin, ['--store', store.dir, '--root', state.root, 'run', '--name', 'doomed', '--rm', 'busybox', 'sleep', '60'], {
    env: env(),
    stdio: 'ignore',
  });
  for (let i = 0; i < 200 && run(['state', 'doomed']).status !== 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(JSON.parse(run(['state', 'doomed']).stdout).status, 'running');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  t.true(existsSync(path.join(store.dir, 'containers', 'doomed')), 'left behind by the killed run');
  const next = run(['run', 'busybox', 'true'], { store: store.dir });
  t.is(next.status, 0, next.stderr);
  t.deepEqual(readdirSync(path.join(store.dir, 'containers')), [], 'swept');
  t.is(run(['state', 'doomed']).status, 1, 'its container is gone too');
});
