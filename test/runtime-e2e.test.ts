/**
 * The whole path a user takes: busybox pushed to the real registry, then in an empty
 * directory `oci pull busybox && oci unpack && oci run` (through a mirror to that registry).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Spec } from '@oci/bundle';
import { busyboxImage } from './harness/busybox.js';
import { oci } from './harness/cli.js';
import { pushLayout, writeLayout } from './harness/images.js';
import { startRegistry, type Registry } from './harness/registry.js';
import { stateRoot, type StateRoot } from './harness/runtime.js';
import { tempDir } from './harness/tmp.js';

let registry: Registry;
let state: StateRoot;
test.before(async () => {
  registry = await startRegistry();
  state = stateRoot();
  const layout = tempDir('layout');
  writeLayout(layout.dir, { latest: await busyboxImage() });
  pushLayout(layout.dir, 'latest', `${registry.host}/library/busybox:latest`);
  layout.remove();
});
test.after.always(async () => {
  await registry?.stop();
  state?.remove();
});

test('oci pull busybox && oci unpack && oci run in an empty directory runs busybox\'s shell', (t) => {
  const store = tempDir('store');
  const work = tempDir('work');
  t.teardown(store.remove);
  t.teardown(work.remove);
  const env = { ...process.env, OCI_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, HOME: '/nonexistent' };
  const run = (args: string[], input = '') => oci(['--store', store.dir, '--root', state.root, ...args], { cwd: work.dir, env, input });
  t.is(run(['pull', '--quiet', 'busybox']).status, 0);
  t.is(run(['unpack']).status, 0);
  const spec = JSON.parse(readFileSync(path.join(work.dir, 'config.json'), 'utf8')) as Spec;
  t.deepEqual(spec.process!.args, ['sh']);

  const ran = run(['run'], 'echo "hello from $(hostname) as $(id -u)"; exit\n');
  t.is(ran.status, 0, ran.stderr);
  t.regex(ran.stdout, /hello from \S+ as 0/);
  // run deleted what it created: nothing is left in the state root.
  t.deepEqual(state.oci(['list', '-q']).stdout, '');
});
