/**
 * A container without a mount namespace of its own mounts in the host's, on a bind of its
 * rootfs onto itself: that bind (with all mounted under it) is detached on delete, and only
 * it. The mounts stacked at the rootfs path are counted at create, so that a rootfs that is
 * itself a mount point (containerd's snapshot) is never taken away.
 */
import { readFileSync } from 'node:fs';
import { requireAddon } from '@oci/native';
import { parseMountInfo } from './cgroups/layout.js';

export interface HostMount {
  /** The rootfs, where the container's bind sits. */
  path: string;
  /** How many mounts were stacked at `path` before the container's. */
  below: number;
}

const mountsAt = (path: string) => parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) => m.mountPoint === path).length;

export function beforeHostMount(rootfs: string): HostMount {
  return { path: rootfs, below: mountsAt(rootfs) };
}

export function detachHostMount(mount: HostMount): void {
  for (let count = mountsAt(mount.path); count > mount.below; count--) requireAddon().detachMount(mount.path);
}
