/**
 * Overlay mounts of snapshots that exist only as an fd of this process (NativeAddon.mountOverlay):
 * their root is reached as `/proc/self/fd/N`, and closing the fd, or this process dying by any
 * means, frees the mount. No path of the host ever has a mount on it that a kill -9 could leave.
 */
import { closeSync } from 'node:fs';
import type { NativeAddon } from '@oci/native';

const OVERLAY_XATTR = /^(trusted|user)\.overlay\./;

/** overlayfs' own xattrs (trusted.overlay.*, user.overlay.* with userxattr): they describe the layer they are on. */
export const isOverlayXattr = (name: string) => OVERLAY_XATTR.test(name);

/**
 * How an overlay stores one of its own xattr names set through it (Linux 6.7: "trusted.overlay.
 * overlay.X"), which it shows unescaped in the merged view and never acts on.
 */
export const escapeOverlayXattr = (name: string) => name.replace(OVERLAY_XATTR, (prefix) => `${prefix}overlay.`);

export interface DetachedOverlay {
  /** The merged view's root, a path this process (and only it) can use. */
  readonly root: string;
  /** Frees the mount. */
  close(): void;
}

export interface OverlayDirs {
  /** Topmost first, as in lowerdir=. */
  lower: readonly string[];
  upper?: string;
  work?: string;
  /** overlayfs' inode index, in `work` (see hardlinks.ts). */
  index?: boolean;
}

export function mountDetached(addon: Pick<NativeAddon, 'mountOverlay'>, dirs: OverlayDirs, { unprivileged = false } = {}): DetachedOverlay {
  const fd = addon.mountOverlay(unprivileged ? { ...dirs, index: false, userxattr: true, userNamespace: true } : dirs);
  return { root: `/proc/self/fd/${fd}`, close: () => closeSync(fd) };
}

/**
 * A read-only view of committed snapshots (topmost first), to read an image's files without a
 * bundle (its /etc/passwd, say). The empty directory at the bottom makes two lowers at least,
 * which an overlay without an upper needs.
 */
export function mountReadOnly(
  addon: Pick<NativeAddon, 'mountOverlay'>,
  lower: readonly string[],
  layout: { empty: string; unprivileged: boolean },
): DetachedOverlay {
  return mountDetached(addon, { lower: [...lower, layout.empty] }, { unprivileged: layout.unprivileged });
}
