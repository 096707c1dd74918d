/**
 * `--log FILE --log-format json` as engines read it: the file exists after every call (runc
 * opens it first), every line decodes as runc's `{"level","msg","time"}`, and every error path of
 * every runtime command ends the file with an error line saying why (containerd's shim reports
 * the last one; podman matches words in it).
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { busyboxBundle, uniqueId } from './harness/bundle.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

interface Line {
  level: string;
  msg: string;
  time: string;
}

/** Every line of the log, each checked to have runc's shape. */
function lines(t: { is(a: unknown, b: unknown, m?: string): void; true(v: boolean, m?: string): void }, file: string): Line[] {
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((text) => {
      const line = JSON.parse(text) as Line;
      t.is(Object.keys(line).sort().join(), 'level,msg,time', text);
      t.true(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(line.time), line.time);
      return line;
    });
}

test('the log file exists after a call that went well, and holds no line', (t) => {
  const dir = tempDir('log');
  t.teardown(dir.remove);
  const file = path.join(dir.dir, 'log.json');
  const result = state.oci(['--log', file, '--log-format', 'json', 'list']);
  t.is(result.status, 0, result.stderr);
  t.true(existsSync(file));
  t.is(readFileSync(file, 'utf8'), '');
});

test('every runtime command that fails ends the log with an error line saying why', (t) => {
  const dir = tempDir('log');
  t.teardown(dir.remove);
  const broken = path.join(dir.dir, 'broken');
  writeFileSync(path.join(dir.dir, 'config.json'), '{');
  const missing = uniqueId('missing');
  const resources = path.join(dir.dir, 'resources.json');
  writeFileSync(resources, '{}');
  const cases: [string[], RegExp][] = [
    [['create', '--bundle', dir.dir, uniqueId('log')], /config\.json: not valid JSON/],
    [['create', '--bundle', broken, uniqueId('log')], /config\.json does not exist/],
    [['run', '--bundle', broken, uniqueId('log')], /config\.json does not exist/],
    [['start', missing], /container .* does not exist/],
    [['state', missing], /container .* does not exist/],
    [['kill', missing, '9'], /container .* does not exist/],
    [['kill', missing, 'SIGNOTHING'], /unknown signal/],
    [['delete', missing], /container .* does not exist/],
    [['pause', missing], /container .* does not exist/],
    [['resume', missing], /container .* does not exist/],
    [['update', '--resources', resources, missing], /container .* does not exist/],
    [['events', missing], /container .* does not exist/],
    [['exec', missing, 'true'], /container .* does not exist/],
    [['ps', '--format', 'json', missing], /container .* does not exist/],
    [['checkpoint', missing], /container .* does not exist/],
    // Usage errors too, with runc's global options before the command (as engines pass them).
    [['create'], /create: needs 1 argument/],
    [['frobnicate', 'x'], /unknown command 'frobnicate'/],
    [['kill', '--bogus', missing], /unknown option '--bogus'/],
  ];
  for (const [args, reason] of cases) {
    const file = path.join(dir.dir, `${args[0]}-${cases.findIndex((c) => c[0] === args)}.json`);
    // containerd passes two arguments per flag; podman passes --log-format=json first.
    const result = state.oci(args[0] === 'start' ? ['--log-format=json', '--log', file, ...args] : ['--log', file, '--log-format', 'json', ...args]);
    t.not(result.status, 0, args.join(' '));
    const logged = lines(t, file);
    t.is(logged.at(-1)!.level, 'error', args.join(' '));
    t.regex(logged.at(-1)!.msg, reason, args.join(' '));
  }
});

test('a create that fails inside the container logs the step that failed, in words podman matches', async (t) => {
  const dir = tempDir('log');
  t.teardown(dir.remove);
  const bundle = await busyboxBundle(['/nonexistent']);
  t.teardown(bundle.remove);
  const file = path.join(dir.dir, 'log.json');
  const result = state.ociDetached(['--log', file, '--log-format', 'json', 'create', '--bundle', bundle.dir, uniqueId('log')]);
  t.is(result.status, 1);
  const [line, ...rest] = lines(t, file);
  t.deepEqual(rest, []);
  t.like(line, { level: 'error' });
  t.regex(line!.msg, /exec: "\/nonexistent": stat \/nonexistent: no such file or directory/);
});

test("text format: runc's logfmt line", (t) => {
  const dir = tempDir('log');
  t.teardown(dir.remove);
  const file = path.join(dir.dir, 'log.txt');
  const result = state.oci(['--log', file, 'state', uniqueId('missing')]);
  t.is(result.status, 1);
  t.regex(readFileSync(file, 'utf8'), /^time="[^"]+" level=error msg="container \S+ does not exist"\n$/);
});
