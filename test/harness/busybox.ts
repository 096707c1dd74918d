/**
 * A busybox image like Docker Hub's, built from Debian's busybox-static: /bin/busybox, a
 * symlink per applet, and the small /etc the official image carries.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type BuiltImage, buildImage, pushLayout, type TarEntry, tarLayer, writeLayout } from './images.js';
import { tempDir } from './tmp.js';

export const BUSYBOX = '/bin/busybox';

export function busyboxApplets(): string[] {
  const result = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${BUSYBOX} --list failed: is busybox-static installed?`);
  return result.stdout.split('\n').filter((name) => name && name !== 'busybox');
}

const dir = (path: string, mode = 0o755): TarEntry => ({ path, type: 'directory', mode });

/** The entries of the busybox layer (a `docker export` of busybox is these plus a few). */
export function busyboxEntries(): TarEntry[] {
  return [
    dir('bin/'),
    { path: 'bin/busybox', mode: 0o755, content: readFileSync(BUSYBOX) },
    ...busyboxApplets().map((name): TarEntry => ({ path: `bin/${name}`, type: 'symlink', linkname: 'busybox' })),
    dir('dev/'),
    dir('etc/'),
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n' },
    { path: 'etc/group', content: 'root:x:0:\ndaemon:x:1:\ntty:x:5:\nusers:x:100:\nnogroup:x:65534:\n' },
    { path: 'etc/hostname', content: 'busybox\n' },
    dir('home/'),
    dir('proc/'),
    dir('root/', 0o700),
    dir('sys/'),
    dir('tmp/', 0o1777),
    dir('usr/'),
    dir('usr/sbin/'),
    dir('var/'),
  ];
}

export async function busyboxLayer(): Promise<Buffer> {
  return tarLayer(busyboxEntries());
}

export async function busyboxImage(): Promise<BuiltImage> {
  return buildImage([await busyboxLayer()], {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    history: [{ created: '2024-01-01T00:00:00Z', created_by: 'oci test harness: busybox-static' }],
  });
}

/** The digest of busybox's one layer: its only blob over 100 kB (the config and manifest are small). */
export function busyboxLayerDigest(image: BuiltImage): string {
  return [...image.blobs.keys()].find((digest) => image.blobs.get(digest)!.length > 100_000)!;
}

/** Pushes the busybox image to `registryHost` as library/busybox:latest; returns that reference. */
export async function pushBusybox(registryHost: string): Promise<string> {
  const layout = tempDir('busybox-layout');
  try {
    writeLayout(layout.dir, { latest: await busyboxImage() });
    const reference = `${registryHost}/library/busybox:latest`;
    pushLayout(layout.dir, 'latest', reference);
    return reference;
  } finally {
    layout.remove();
  }
}
