/**
 * The images oci unpack's CLI tests pull, pushed to the harness's registry as
 * REGISTRY/library/busybox:TAG: latest, app (entrypoint, user, working directory), corrupt,
 * stranger (an unknown user), large (24 MB that fill a small disk), and the volume-* images.
 */
import { gzipSync } from 'node:zlib';
import { busyboxImage, busyboxLayer } from './busybox.js';
import { type BuiltImage, buildImage, pushLayout, tarLayer, writeLayout } from './images.js';
import type { Registry } from './registry.js';
import { tempDir } from './tmp.js';

export async function pushUnpackImages(registry: Registry): Promise<void> {
  const busybox = await busyboxLayer();
  const layout = tempDir('layout');
  writeLayout(layout.dir, {
    latest: await busyboxImage(),
    app: buildImage([busybox, await tarLayer([{ path: 'srv/', type: 'directory', mode: 0o775, uid: 1, gid: 1 }])], {
      architecture: 'amd64',
      os: 'linux',
      config: {
        Entrypoint: ['sh', '-c'],
        Cmd: ['echo "$GREETING from $(id -u):$(id -g) groups $(id -G) in $(pwd)"'],
        Env: ['GREETING=hello', 'PATH=/bin'],
        User: 'daemon',
        WorkingDir: '/srv',
      },
    }),
    corrupt: corruptImage(busybox),
    stranger: buildImage([busybox], { architecture: 'amd64', os: 'linux', config: { Cmd: ['true'], User: 'stranger' } }),
    ...volumeImages(busybox),
    large: await largeImage(),
  });
  for (const name of ['latest', 'app', 'corrupt', 'stranger', 'large', ...Object.keys(volumeImages(busybox))])
    pushLayout(layout.dir, name, `${registry.host}/library/busybox:${name}`);
  layout.remove();
}

/** Images whose Volumes aim at the bundle directory (refused), and tricky ones that are not. */
function volumeImages(busybox: Buffer): Record<string, BuiltImage> {
  const image = (Volumes: Record<string, object>, script = 'true') =>
    buildImage([busybox], { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh', '-c', script], Volumes } });
  return {
    'volume-up': image({ '/..': {} }, 'echo pwned > /../config.json'),
    'volume-dot': image({ '/.': {} }),
    'volume-up-twice': image({ '/a/../..': {} }),
    'volume-relative': image({ '../x': {} }),
    volumes: image(
      { '/../data': {}, '/data/': {}, '/a/b': {}, '/a_b': {}, '/x/./y/..': {} },
      'for f in /../config.json /../../config.json /data/../../config.json; do echo pwned > $f; done; echo b > /a/b/f; echo ab > /a_b/f; echo x > /x/f',
    ),
  };
}

/** busybox plus a second layer whose gzip stream is cut short. */
function corruptImage(layer: Buffer): BuiltImage {
  return buildImage([layer, Buffer.alloc(20480)], { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] } }, (tar, i) => {
    const gz = gzipSync(tar);
    return { data: i === 0 ? gz : gz.subarray(0, gz.length - 8), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
  });
}

/** 24 MB of numbers, which gzip shrinks as it does programs: still inflating when a small disk fills up. */
export async function largeImage(): Promise<BuiltImage> {
  const numbers = Array.from({ length: 3 << 20 }, (_, i) => `${i * 7919}\n`)
    .join('')
    .slice(0, 24 << 20);
  return buildImage([await tarLayer([{ path: 'data', content: numbers }])], { architecture: 'amd64', os: 'linux', config: { Cmd: ['true'] } });
}
