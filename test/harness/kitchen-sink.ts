/**
 * Three layers that exercise every entry type and every layer rule: the image the unpack tests
 * compare with umoci, and the snapshot tests compare with a full unpack.
 */
import { type TarEntry, tarLayer } from './images.js';

export const T1 = new Date('2021-02-03T04:05:06Z');
export const T2 = new Date('2022-03-04T05:06:07Z');
export const CAPABILITY = Buffer.from('0000000200200000000000000000000000000000', 'hex'); // cap_net_raw+ep, v2
export const LONG_DIR = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
export const LONG_NAME = `${'n'.repeat(120)}.txt`;

/** Three layers that exercise every entry type and every layer rule. */
export async function kitchenSink(): Promise<Buffer[]> {
  const layer1: TarEntry[] = [
    { path: 'bin/', type: 'directory' },
    { path: 'bin/tool', mode: 0o4755, content: 'setuid tool', mtime: T1 },
    { path: 'bin/group-tool', mode: 0o2711, uid: 1000, gid: 1001, content: 'setgid tool' },
    { path: 'bin/ping', mode: 0o755, content: 'needs a capability', pax: { 'SCHILY.xattr.security.capability': CAPABILITY.toString('latin1') } },
    { path: 'bin/tool-link', type: 'link', linkname: 'bin/tool' },
    { path: 'bin/sh', type: 'symlink', linkname: 'tool', mtime: T2 },
    { path: 'bin/abs', type: 'symlink', linkname: '/etc/hostname' },
    { path: 'bin/dangling', type: 'symlink', linkname: '../nowhere/at/all' },
    { path: 'tmp/', type: 'directory', mode: 0o1777 },
    { path: 'root/', type: 'directory', mode: 0o700 },
    { path: 'home/user/', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
    { path: 'home/user/notes', mode: 0o600, uid: 1000, gid: 1000, content: 'x'.repeat(70000), pax: { 'SCHILY.xattr.user.comment': 'hello' } },
    { path: 'dev/', type: 'directory' },
    { path: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
    { path: 'dev/loop9', type: 'block-device', mode: 0o660, gid: 6, devmajor: 7, devminor: 9 },
    { path: 'dev/pipe', type: 'fifo', mode: 0o620 },
    { path: `${LONG_DIR}/${LONG_NAME}`, content: 'a PAX path' },
    { path: 'pax/long-target', type: 'symlink', linkname: `/${'t'.repeat(130)}` },
    { path: 'lower/', type: 'directory' },
    { path: 'lower/gone', content: 'whited out by layer 2' },
    { path: 'lower/gone-dir/', type: 'directory' },
    { path: 'lower/gone-dir/inner', content: 'goes with its directory' },
    { path: 'lower/file-to-dir', content: 'becomes a directory' },
    { path: 'lower/dir-to-file/', type: 'directory' },
    { path: 'lower/dir-to-file/child', content: 'removed with its parent' },
    { path: 'lower/file-to-symlink', content: 'becomes a symlink' },
    { path: 'lower/symlink-to-dir', type: 'symlink', linkname: '/bin' },
    { path: 'lower/rewritten', content: 'version 1', mtime: T1 },
    { path: 'lower/chmod/', type: 'directory', mode: 0o755 },
    { path: 'lower/chmod/kept', content: 'a directory entry over a directory keeps the children' },
    { path: 'opaque/', type: 'directory' },
    { path: 'opaque/lower1', content: 'hidden by layer 3' },
    { path: 'opaque/sub/', type: 'directory' },
    { path: 'opaque/sub/deep1', content: 'hidden by layer 3' },
    { path: 'etc/', type: 'directory' },
    { path: 'etc/hostname', content: 'kitchen\n' },
  ];
  const layer2: TarEntry[] = [
    { path: 'lower/.wh.gone', content: '' },
    { path: 'lower/.wh.gone-dir', content: '' },
    { path: 'lower/file-to-dir/', type: 'directory', mode: 0o711 },
    { path: 'lower/file-to-dir/child', content: 'now inside' },
    { path: 'lower/dir-to-file', content: 'was a directory' },
    { path: 'lower/file-to-symlink', type: 'symlink', linkname: 'rewritten' },
    { path: 'lower/symlink-to-dir/', type: 'directory', mode: 0o700 },
    { path: 'lower/rewritten', content: 'version 2', mtime: T2 },
    { path: 'lower/chmod/', type: 'directory', mode: 0o705, uid: 7, gid: 8 },
    { path: 'lower/hardlink-down', type: 'link', linkname: 'etc/hostname' },
    { path: 'opaque/lower2', content: 'hidden by layer 3' },
    { path: 'opaque/sub/deep2', content: 'hidden by layer 3' },
    { path: 'again', content: 'whited out in layer 2, back in layer 3' },
  ];
  const layer3: TarEntry[] = [
    { path: 'opaque/', type: 'directory', mode: 0o751 },
    { path: 'opaque/new-before', content: 'layer 3, before the marker' },
    { path: 'opaque/sub/', type: 'directory' },
    { path: 'opaque/sub/deep3', content: 'layer 3' },
    { path: 'opaque/.wh..wh..opq', content: '' },
    { path: 'opaque/new-after', content: 'layer 3, after the marker' },
    { path: '.wh.again', content: '' },
    { path: 'again/', type: 'directory' },
    { path: 'lower/.wh.hardlink-down', content: '' },
    { path: 'lower/file-to-dir/.wh.child', content: '' },
  ];
  return [await tarLayer(layer1), await tarLayer(layer2), await tarLayer(layer3)];
}
