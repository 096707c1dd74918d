/**
 * An overlay's root directory is its upper's: a new upper (a snapshot being prepared, a
 * bundle's writable layer) starts as a copy of the merged root's owner, mode, xattrs and times,
 * or the container would see a root that no layer gave it.
 */
import { chmodSync, chownSync, lstatSync, utimesSync } from 'node:fs';
import type { NativeAddon } from '@oci/native';
import { isOverlayXattr } from './overlay.js';

/** With `owner` false (unprivileged: every file is ours, as in a rootless unpack), the owner stays. */
export function copyRootAttributes(from: string, to: string, addon: Pick<NativeAddon, 'llistxattr' | 'lgetxattr' | 'lsetxattr'>, { owner = true } = {}): void {
  const info = lstatSync(from);
  if (owner) chownSync(to, info.uid, info.gid);
  chmodSync(to, info.mode & 0o7777);
  for (const name of addon.llistxattr(from)) {
    if (isOverlayXattr(name)) continue;
    try {
      addon.lsetxattr(to, name, addon.lgetxattr(from, name));
    } catch (error) {
      // Unprivileged (trusted.*, security.*): the layer that set it was told it was skipped.
      if (owner || !['EPERM', 'ENOTSUP', 'EOPNOTSUPP'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  }
  utimesSync(to, info.atime, info.mtime);
}
