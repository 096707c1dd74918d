/**
 * An overlay's root directory is its upper's: a new upper (a snapshot being prepared, a
 * bundle's writable layer) starts as a copy of the merged root's owner, mode, xattrs and times,
 * or the container would see a root that no layer gave it.
 */
import { chmodSync, chownSync, lstatSync, utimesSync } from 'node:fs';
import type { NativeAddon } from '@oci/native';
import { isOverlayXattr } from './overlay.js';

export function copyRootAttributes(from: string, to: string, addon: Pick<NativeAddon, 'llistxattr' | 'lgetxattr' | 'lsetxattr'>): void {
  const info = lstatSync(from);
  chownSync(to, info.uid, info.gid);
  chmodSync(to, info.mode & 0o7777);
  for (const name of addon.llistxattr(from)) if (!isOverlayXattr(name)) addon.lsetxattr(to, name, addon.lgetxattr(from, name));
  utimesSync(to, info.atime, info.mtime);
}
