/**
 * Images run by an unprivileged user (nobody, through setpriv): the kernel here lets an
 * unprivileged user mount an overlay in a user namespace (with userxattr), so its snapshots are
 * made through overlays in a user namespace of its own and its containers mount them in theirs,
 * as root's do in the host's: the same tree as a rootless full copy, said by nothing but the
 * store's snapshots-user/.
 */

import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Spec } from '@oci/bundle';
import test from 'ava';
import { busyboxLayer } from './harness/busybox.js';
import { oci } from './harness/cli.js';
import { buildImage, pushLayout, tarLayer, writeLayout } from './harness/images.js';
import { startRegistry } from './harness/registry.js';
import { NOBODY, type Unprivileged, unprivileged } from './harness/unprivileged.js';

let nobody: Unprivileged;
let store: string;
test.before(async () => {
  const registry = await startRegistry();
  try {
    nobody = unprivileged();
    const layout = path.join(nobody.dir, 'layout');
    writeLayout(layout, {
      latest: buildImage(
        [
          await busyboxLayer(),
          await tarLayer([
            { path: 'srv/', type: 'directory' },
            { path: 'srv/kept', content: 'layer 2' },
            { path: 'srv/gone', content: 'whited out' },
            { path: 'etc/hostname', content: 'layer 2\n' },
          ]),
          await tarLayer([
            { path: 'srv/.wh.gone', content: '' },
            { path: 'bin/.wh.vi', content: '' },
            { path: 'srv/sub/', type: 'directory' },
            { path: 'srv/sub/new', content: 'layer 3' },
          ]),
        ],
        { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'], Env: ['PATH=/bin'] } },
      ),
    });
    pushLayout(layout, 'latest', `${registry.host}/library/layered:latest`);
    // Pulled as root into a store nobody then owns (nobody's oci runs with a clean environment, no mirror setting).
    store = path.join(nobody.dir, 'store');
    const pulled = oci(['--store', store, 'pull', '--quiet', `${registry.host}/library/layered:latest`], { env: { ...process.env, OCI_REGISTRY_MIRRORS: '' } });
    if (pulled.status !== 0) throw new Error(pulled.stderr);
    spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, store]);
  } finally {
    await registry.stop();
  }
});
test.after.always(() => nobody?.remove());

const image = () => JSON.parse(readFileSync(path.join(store, 'index.json'), 'utf8')).manifests[0].annotations['org.opencontainers.image.ref.name'] as string;
/** Every path of the container's root filesystem with its type, mode and size (busybox find and stat). */
const TREE = 'find / -xdev | sort | while read p; do stat -c \'%n %F %a %s\' "$p"; done';

test.serial('oci run IMAGE as an unprivileged user stacks its snapshots (user.overlay form), and the container sees what a rootless full copy gives', (t) => {
  const overlay = nobody.oci(['--store', store, 'run', image(), 'sh', '-c', TREE]);
  t.is(overlay.status, 0, overlay.stderr);
  t.is(overlay.stderr, '', 'no word of a copy: the overlay was had');
  t.true(existsSync(path.join(store, 'snapshots-user', 'sha256')));
  t.is(readdirSync(path.join(store, 'snapshots-user', 'sha256')).length, 3);
  t.false(existsSync(path.join(store, 'snapshots')), "root's form is not made");
  const copy = nobody.oci(['--store', store, 'run', '--rootfs', 'copy', image(), 'sh', '-c', TREE]);
  t.is(copy.status, 0, copy.stderr);
  t.is(copy.stderr, '', 'a copy asked for is not warned of');
  t.is(overlay.stdout, copy.stdout);
  t.regex(overlay.stdout, /^\/srv\/kept regular file/m);
  t.notRegex(overlay.stdout, /^\/srv\/gone /m);
  t.notRegex(overlay.stdout, /^\/bin\/vi /m);
  t.deepEqual(readdirSync(path.join(store, 'containers')), [], 'both removed');
});

test.serial('oci unpack --overlay as an unprivileged user: a rootless config.json whose overlay mount has userxattr, which oci run runs', (t) => {
  const bundle = path.join(nobody.dir, 'bundle');
  const made = nobody.oci(['--store', store, 'unpack', '--overlay', image(), bundle]);
  t.is(made.status, 0, made.stderr);
  const spec = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) as Spec;
  t.deepEqual(spec.mounts![0]!.options!.slice(-2), ['index=off', 'userxattr']);
  t.true(spec.linux!.namespaces!.some((ns) => ns.type === 'user'));
  spec.process!.args = ['cat', '/etc/hostname'];
  spawnSync('sh', ['-c', `cat > ${bundle}/config.json`], { input: JSON.stringify(spec) });
  chownSync(path.join(bundle, 'config.json'), NOBODY, NOBODY);
  const ran = nobody.oci(['run', '--bundle', bundle, 'rootless-overlay']);
  t.is(ran.status, 0, ran.stderr);
  t.is(ran.stdout, 'layer 2\n');
});
