/** The unpack example of packages/image/README.md runs as written, against a store `oci pull` filled. */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyboxImage } from './harness/busybox.js';
import { oci } from './harness/cli.js';
import { pushLayout, writeLayout } from './harness/images.js';
import { startRegistry } from './harness/registry.js';
import { tempDir } from './harness/tmp.js';

const readme = fileURLToPath(new URL('../../packages/image/README.md', import.meta.url));

test('the README unpack example runs', async (t) => {
  const registry = await startRegistry();
  t.teardown(() => registry.stop());
  const layout = tempDir('layout');
  const store = tempDir('store');
  const work = tempDir('work');
  t.teardown(layout.remove);
  t.teardown(store.remove);
  t.teardown(work.remove);
  writeLayout(layout.dir, { latest: await busyboxImage() });
  pushLayout(layout.dir, 'latest', `${registry.host}/library/busybox:latest`);
  const env = { ...process.env, OCI_STORE: store.dir, OCI_REGISTRY_MIRRORS: `docker.io=http://${registry.host}` };
  t.is(oci(['pull', '--quiet', 'busybox'], { env }).status, 0);

  const example = /<!-- the test suite runs this example[^\n]*\n```js\n([\s\S]*?)```/.exec(readFileSync(readme, 'utf8'))?.[1];
  t.truthy(example, 'the README has the example');
  // Beside the test's own files, so that '@oci/image' resolves as it does for a user of the package.
  const script = fileURLToPath(new URL(`./readme-example-${process.pid}.mjs`, import.meta.url));
  writeFileSync(script, example!);
  t.teardown(() => rmSync(script, { force: true }));
  const result = spawnSync(process.execPath, [script], { cwd: work.dir, env, encoding: 'utf8' });
  t.is(result.status, 0, result.stderr);
  t.regex(result.stdout, /^unpacked sha256:[0-9a-f]{64}, 0 items skipped\n$/);
  t.regex(result.stderr, /^layer 1\/1: \d+ of \d+ bytes\n$/);
  t.true(statSync(path.join(work.dir, 'busybox-rootfs/bin/busybox')).isFile());
  t.true(readdirSync(path.join(work.dir, 'first-layer/bin')).includes('sh'));
});
