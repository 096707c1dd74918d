/**
 * The rootless variant of a spec, as `runc spec --rootless` makes it: a user namespace mapping
 * the caller to root, no network namespace (an unprivileged user cannot configure one), /sys
 * bind-mounted (sysfs cannot be mounted without owning the network namespace), no uid=/gid=
 * mount options (those ids are not mapped) and no cgroup resources. Beyond runc: the caller's
 * subordinate ids, when it has some, map to container ids 1 and up (as podman does), so that an
 * image's files owned by other users keep distinct owners.
 */
import type { IdMapping, Spec } from '@oci/specs';
import type { IdRange } from './subordinate-ids.js';

export interface RootlessIds {
  uid: number;
  gid: number;
  /** Ranges from /etc/subuid and /etc/subgid (see subordinate-ids.ts). */
  subordinate?: { uids: readonly IdRange[]; gids: readonly IdRange[] };
}

/** The caller's own id as container root, then its subordinate ranges from container id 1. */
function mappings(own: number, ranges: readonly IdRange[] = []): IdMapping[] {
  const maps: IdMapping[] = [{ containerID: 0, hostID: own, size: 1 }];
  let next = 1;
  for (const { start, count } of ranges) {
    maps.push({ containerID: next, hostID: start, size: count });
    next += count;
  }
  return maps;
}

export function toRootless(spec: Spec, ids: RootlessIds = { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 }): Spec {
  const linux = (spec.linux ??= {});
  linux.namespaces = [...(linux.namespaces ?? []).filter((ns) => ns.type !== 'network' && ns.type !== 'user'), { type: 'user' }];
  linux.uidMappings = mappings(ids.uid, ids.subordinate?.uids);
  linux.gidMappings = mappings(ids.gid, ids.subordinate?.gids);
  delete linux.resources;
  spec.mounts = (spec.mounts ?? []).map((mount) =>
    mount.destination.replace(/\/+$/, '') === '/sys'
      ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
      : { ...mount, ...(mount.options && { options: mount.options.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid=')) }) },
  );
  return spec;
}

/** A user namespace with these maps (a rootfs unpacked with --uid-map/--gid-map). */
export function withUserNamespace(spec: Spec, uidMappings: IdMapping[], gidMappings: IdMapping[]): Spec {
  const linux = (spec.linux ??= {});
  if (!(linux.namespaces ?? []).some((ns) => ns.type === 'user')) linux.namespaces = [...(linux.namespaces ?? []), { type: 'user' }];
  linux.uidMappings = uidMappings;
  linux.gidMappings = gidMappings;
  return spec;
}
