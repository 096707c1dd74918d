/**
 * The whole path a user takes: busybox pushed to the real registry, then in an empty
 * directory `oci pull busybox && oci unpack && oci run` (through a mirror to that registry).
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Spec } from '@oci/bundle';
import test from 'ava';
import { busyboxImage, busyboxLayer } from './harness/busybox.js';
import { oci } from './harness/cli.js';
import { buildImage, pushLayout, tarLayer, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { runcRun } from './harness/runc.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let registry: Registry;
let state: StateRoot;
test.before(async () => {
  registry = await startRegistry();
  state = stateRoot();
  const layout = tempDir('layout');
  const app = buildImage([await busyboxLayer(), await tarLayer([{ path: 'srv/', type: 'directory', mode: 0o775, uid: 1, gid: 1 }])], {
    architecture: 'amd64',
    os: 'linux',
    config: {
      Entrypoint: ['sh', '-c'],
      Cmd: ['echo "$GREETING from $(id -u):$(id -g) in $(pwd) as $(hostname)"; ulimit -n; grep CapEff /proc/self/status; exit 7'],
      Env: ['GREETING=hello', 'PATH=/bin'],
      User: 'daemon',
      WorkingDir: '/srv',
    },
  });
  writeLayout(layout.dir, { latest: await busyboxImage(), app });
  pushLayout(layout.dir, 'latest', `${registry.host}/library/busybox:latest`);
  pushLayout(layout.dir, 'app', `${registry.host}/library/busybox:app`);
  layout.remove();
});
test.after.always(async () => {
  await registry?.stop();
  state?.remove();
});

function workspace(t: { teardown(fn: () => void): void }) {
  const store = tempDir('store');
  const work = tempDir('work');
  t.teardown(store.remove);
  t.teardown(work.remove);
  const env = { ...process.env, OCI_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, HOME: '/nonexistent' };
  const run = (args: string[], input = '') => oci(['--store', store.dir, '--root', state.root, ...args], { cwd: work.dir, env, input });
  return { dir: work.dir, run };
}

test("oci pull busybox && oci unpack && oci run in an empty directory runs busybox's shell", (t) => {
  const { dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox']).status, 0);
  t.is(run(['unpack']).status, 0);
  const spec = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Spec;
  t.deepEqual(spec.process!.args, ['sh']);

  const ran = run(['run'], 'echo "hello from $(hostname) as $(id -u)"; exit\n');
  t.is(ran.status, 0, ran.stderr);
  t.regex(ran.stdout, /hello from \S+ as 0/);
  // run deleted what it created: nothing is left in the state root.
  t.deepEqual(state.oci(['list', '-q']).stdout, '');
});

test('a config.json the bundle package wrote from an image runs under oci run as under runc run', (t) => {
  const { dir, run } = workspace(t);
  t.is(run(['pull', '--quiet', 'busybox:app']).status, 0);
  t.is(run(['unpack', 'busybox:app', 'app']).status, 0);
  const bundle = path.join(dir, 'app');
  const expected = runcRun(bundle);
  t.is(expected.status, 7, expected.stderr);
  const actual = run(['run', '--bundle', bundle]);
  t.is(actual.status, expected.status, actual.stderr);
  t.is(actual.stdout, expected.stdout);
  t.regex(actual.stdout, /^hello from 1:1 in \/srv as /);
});
