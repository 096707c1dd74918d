import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { summaries } from '../src/commands/index.js';

const bin = fileURLToPath(new URL('../../bin/oci.cjs', import.meta.url));
const oci = (args: string[], cwd?: string) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd });
/** The executable users run: the native front door, which hands what it does not serve to bin/oci.cjs. */
const frontDoor = fileURLToPath(new URL('../../bin/oci', import.meta.url));

test('--help lists every command and the global options', (t) => {
  const result = oci(['--help']);
  t.is(result.status, 0);
  for (const name of Object.keys(summaries)) t.regex(result.stdout, new RegExp(`^  ${name} `, 'm'));
  for (const option of ['--store', '--root', '--log', '--log-format', '--debug']) t.true(result.stdout.includes(option), option);
});

test("--version prints the version in runc's shape, libseccomp's included", (t) => {
  const result = oci(['--version']);
  t.is(result.status, 0);
  t.regex(result.stdout, /^oci version \d+\.\d+\.\d+\nspec: \d+\.\d+\.\d+\nnode: v\d+\.\d+\.\d+\nlibseccomp: \d+\.\d+\.\d+\n$/);
});

test('an unknown command prints one line and exits 2', (t) => {
  const result = oci(['frobnicate']);
  t.is(result.status, 2);
  t.is(result.stdout, '');
  t.is(result.stderr, "oci: unknown command 'frobnicate' (see 'oci --help')\n");
});

test('a bad option prints one line and exits 2, before or after the command', (t) => {
  for (const args of [
    ['--bogus', 'spec'],
    ['spec', '--bogus'],
  ]) {
    const result = oci(args);
    t.is(result.status, 2, args.join(' '));
    t.is(result.stderr.split('\n').length, 2, result.stderr);
    t.regex(result.stderr, /^oci: (spec: )?unknown option '--bogus'/);
  }
});

test("a value outside an option's choices and a missing value are usage errors", (t) => {
  const bad = oci(['--log-format', 'xml', 'spec']);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--log-format must be one of text, json/);
  const missing = oci(['spec', '--bundle']);
  t.is(missing.status, 2);
  t.regex(missing.stderr, /option '--bundle' needs a value/);
});

test('too many arguments is a usage error', (t) => {
  const result = oci(['spec', 'extra']);
  t.is(result.status, 2);
  t.regex(result.stderr, /^oci: spec: takes at most 0 arguments, got 1/);
});

test('a failing command prints one line without a stack, and the stack with --debug', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.is(oci(['spec'], dir).status, 0);

  const again = oci(['spec'], dir);
  t.is(again.status, 1);
  t.is(again.stderr, `oci: spec: ${path.join(dir, 'config.json')} exists: remove it first\n`);

  const debug = oci(['--debug', 'spec'], dir);
  t.is(debug.status, 1);
  t.regex(debug.stderr, /\n\s+at /);
});

test('spec into a bundle directory that is missing, or a file, says which in one line, as runc refuses it', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = oci(['spec', '--bundle', path.join(dir, 'missing')]);
  t.is(missing.status, 1);
  t.is(missing.stderr, `oci: spec: bundle directory ${path.join(dir, 'missing')}: no such directory\n`);
  writeFileSync(path.join(dir, 'file'), '');
  const file = oci(['spec', '--bundle', path.join(dir, 'file')]);
  t.is(file.status, 1);
  t.is(file.stderr, `oci: spec: bundle directory ${path.join(dir, 'file')}: not a directory\n`);
  for (const bundle of ['missing', 'file']) t.not(spawnSync('runc', ['spec', '--bundle', path.join(dir, bundle)]).status, 0, `runc spec --bundle ${bundle}`);
});

test('with --log and json format the error is also written as a runc log line', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'log.json');
  oci(['spec'], dir);
  const result = oci(['--log', log, '--log-format=json', 'spec'], dir);
  t.is(result.status, 1);
  const line = JSON.parse(readFileSync(log, 'utf8').trim()) as { level: string; msg: string; time: string };
  t.is(line.level, 'error');
  t.regex(line.msg, /exists: remove it first/);
  t.false(Number.isNaN(Date.parse(line.time)));
});

test("spec writes runc's default config.json into the bundle directory", (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const result = oci(['spec', '--bundle', dir]);
  t.is(result.status, 0, result.stderr);
  const spec = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as { root: { path: string }; process: { args: string[] } };
  t.deepEqual(spec.root, { path: 'rootfs', readonly: true });
  t.deepEqual(spec.process.args, ['sh']);
});

test("--log-format json without --log writes runc's JSON lines to stderr, as runc does", (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const result = oci(['--log-format', 'json', '--root', dir, 'state', 'nothing']);
  t.is(result.status, 1);
  const lines = result.stderr.trim().split('\n');
  t.is(lines.length, 1, result.stderr);
  const line = JSON.parse(lines[0]!) as Record<string, string>;
  t.deepEqual(Object.keys(line), ['level', 'msg', 'time']);
  t.is(line.level, 'error');
  t.regex(line.msg!, /^state nothing: .*does not exist/);
  const runc = spawnSync('runc', ['--log-format', 'json', '--root', dir, 'state', 'nothing'], { encoding: 'utf8' });
  t.like(JSON.parse(runc.stderr.trim()), { level: 'error', msg: 'container does not exist' }, 'runc prints the same shape');
  const usage = oci(['--log-format=json', 'spec', '--bogus']);
  t.like(JSON.parse(usage.stderr), { level: 'error', msg: "spec: unknown option '--bogus' (see 'oci spec --help')" });
});

test('--debug logs each runtime operation with its time', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const result = oci(['--debug', '--root', dir, 'list']);
  t.is(result.status, 0, result.stderr);
  t.regex(result.stderr, /^oci: debug: runtime list done \(\d+ ms\)\n$/);
  const failed = oci(['--debug', '--root', dir, 'state', 'nothing']);
  t.regex(failed.stderr, /^oci: debug: runtime state nothing failed: .*does not exist.* \(\d+ ms\)\n/);
});

test("a command's help lists the global options it uses, and no other", (t) => {
  const globalsOf = (command: string) =>
    oci([command, '--help'])
      .stdout.split('Global options:\n')[1]!
      .match(/--[\w-]+/g);
  t.deepEqual(globalsOf('state'), ['--root', '--log', '--log-format', '--rootless-runtime', '--debug', '--help']);
  t.deepEqual(globalsOf('pull'), ['--store', '--log', '--log-format', '--debug', '--help']);
  t.deepEqual(globalsOf('spec'), ['--log', '--log-format', '--debug', '--help']);
  t.regex(oci(['spec', '--help']).stdout, /^ {6}--rootless +a spec for an unprivileged user/m);
});

test('the global --rootless=true containerd passes still works', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const args of [['--rootless=true'], ['--rootless', 'false'], ['--rootless-runtime', 'auto']]) {
    const result = oci([...args, '--root', dir, 'list', '--format', 'json']);
    t.is(result.status, 0, result.stderr);
  }
});

test('oci version says what podman version says of itself: the packages, Node, libseccomp, the helper, OS/Arch', (t) => {
  const result = oci(['version', '--format', 'json']);
  t.is(result.status, 0, result.stderr);
  const info = JSON.parse(result.stdout) as Record<string, unknown> & { Packages: Record<string, string> };
  const packageVersion = (name: string) =>
    (JSON.parse(readFileSync(new URL(`../../../${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
  t.deepEqual(info.Packages, Object.fromEntries(['cli', 'image', 'bundle', 'runtime', 'native'].map((name) => [`@oci/${name}`, packageVersion(name)])));
  t.is(info.NodeVersion, process.version);
  t.is(`libseccomp: ${info.Libseccomp}`, oci(['--version']).stdout.split('\n')[3]);
  const helper = spawnSync(fileURLToPath(new URL('../../../native/build/Release/oci-helper', import.meta.url)), ['--version'], { encoding: 'utf8' });
  t.is(`oci-helper ${info.Helper}\n`, helper.stdout);
  const podman = spawnSync('podman', ['version', '--format', '{{.Client.OsArch}}'], { encoding: 'utf8' });
  t.is(info.OsArch, podman.stdout.trim());
  t.is(oci(['version', '--format', '{{.OsArch}} {{.Version}}']).stdout, `${info.OsArch} ${info.Version}\n`);
  t.regex(oci(['version']).stdout, /^Version: +\d+\.\d+\.\d+\nPackages: +@oci\/cli /);
});

test('a command that loaded the addon still leaves the coverage and profiles Node writes in its teardown, which it otherwise skips', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-teardown-'));
  try {
    // --version loads the addon (libseccomp's version), so it would end with _exit(2).
    const covered = spawnSync(process.execPath, [bin, '--version'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_V8_COVERAGE: path.join(dir, 'coverage') },
    });
    t.is(covered.status, 0, covered.stderr);
    t.true(readdirSync(path.join(dir, 'coverage')).some((file) => file.endsWith('.json')));
    const profiled = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${path.join(dir, 'profile')}`, bin, '--version'], { encoding: 'utf8' });
    t.is(profiled.status, 0, profiled.stderr);
    t.true(readdirSync(path.join(dir, 'profile')).some((file) => file.endsWith('.cpuprofile')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lines of the front door's commands that are not theirs to serve get Node's answer through it, unchanged", (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'oci-cli-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const lines = [
    ['state'],
    ['state', 'a', 'b'],
    ['state', 'no/such'],
    ['state', 'missing'],
    ['--log-format', 'xml', 'state', 'x'],
    ['--rootless', 'maybe', 'kill', 'x'],
    ['--root', '--log', 'state', 'x'],
    ['delete', '--bogus', 'x'],
    ['kill', 'x', 'SIGFOO'],
    ['kill', 'x', '65'],
    ['ps', '-f', 'yaml', 'x'],
    ['pause', '--help'],
    ['start', '--', 'x'],
  ];
  for (const line of lines) {
    const args = ['--root', root, ...line];
    const viaFrontDoor = spawnSync(frontDoor, args, { encoding: 'utf8' });
    const viaNode = oci(args);
    t.deepEqual(
      { status: viaFrontDoor.status, stdout: viaFrontDoor.stdout, stderr: viaFrontDoor.stderr },
      { status: viaNode.status, stdout: viaNode.stdout, stderr: viaNode.stderr },
      line.join(' '),
    );
  }
});
