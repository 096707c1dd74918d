/** README's main job, `pnpm demo`, works as a newcomer runs it (after set-up, without internet). */

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';

test('the demo pulls, unpacks and runs busybox through a mirror, and cleans up', (t) => {
  const demo = fileURLToPath(new URL('demo.js', import.meta.url));
  const result = spawnSync(process.execPath, [demo], { encoding: 'utf8' });
  t.is(result.status, 0, result.stderr);
  t.regex(result.stdout, /^\$ oci pull busybox\nsha256:[0-9a-f]{64}\n\$ oci unpack\n/m);
  t.regex(result.stdout, /hello from busybox: hostname \S+, pid 1, uid 0/);
  t.regex(result.stdout, /demo: done\n$/);
});
