/**
 * The rootless variant of a spec, as `runc spec --rootless` makes it: a user namespace mapping
 * the caller to root, no network namespace (an unprivileged user cannot configure one), /sys
 * bind-mounted (sysfs cannot be mounted without owning the network namespace), no uid=/gid=
 * mount options (those ids are not mapped) and no cgroup resources.
 */
import type { IdMapping, Spec } from './runtime-spec.js';

export interface RootlessIds {
  uid: number;
  gid: number;
}

export function toRootless(spec: Spec, ids: RootlessIds = { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 }): Spec {
  const linux = (spec.linux ??= {});
  linux.namespaces = [...(linux.namespaces ?? []).filter((ns) => ns.type !== 'network' && ns.type !== 'user'), { type: 'user' }];
  linux.uidMappings = [{ containerID: 0, hostID: ids.uid, size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: ids.gid, size: 1 }];
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
