/**
 * User namespaces: linux.uidMappings and gidMappings as the helper's `id_maps` op (its parent
 * side writes them before the container's process goes on), and how the maps are written.
 *
 * As root the helper writes /proc/PID/{uid,gid}_map itself. An unprivileged caller (rootless)
 * can write only a map of its own uid and gid, the gid one after denying setgroups; any other
 * id needs shadow's setuid newuidmap and newgidmap, which grant the caller's subordinate ids
 * (/etc/subuid, /etc/subgid, read by the caller: ../caller.ts). Those are checked here first, for
 * an error that says what to fix.
 */
import type { IdMapping, Spec } from '@oci/specs';
import { invalid } from '../errors.js';
import { hasNewNamespace } from './namespaces.js';
import type { Op } from './ops.js';

/** Who runs the runtime: its effective ids, its user name, and what it may map beyond its own ids. */
export interface Caller {
  uid: number;
  gid: number;
  /** Its user name (subordinate ids may be listed by it). */
  name?: string;
  /** An unprivileged caller's subordinate uids and gids (root needs none). */
  subordinate?: { uid: SubordinateIds; gid: SubordinateIds };
}

/** Host ids an unprivileged caller may map beyond its own, and the setuid program that maps them. */
export interface SubordinateIds {
  /** Where they are listed (/etc/subuid or /etc/subgid). */
  file: string;
  ranges: readonly { start: number; count: number }[];
  /** shadow's newuidmap or newgidmap; undefined where it is not installed. */
  mapper: string | undefined;
}

export interface UserNamespacePlan {
  /** The op that goes before `clone`. */
  op: Op;
  /** setgroups(2) is denied in the namespace: the process's groups cannot be set. */
  setgroupsDenied: boolean;
}

const mapText = (maps: readonly IdMapping[]) => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join('\n');
const isOwnOnly = (maps: readonly IdMapping[], own: number) => maps.length === 1 && maps[0]!.hostID === own && maps[0]!.size === 1;

/** Host ids a map uses that are neither the caller's own nor among its subordinate ranges. */
function notGranted(maps: readonly IdMapping[], own: number, ranges: SubordinateIds['ranges']): IdMapping | undefined {
  const within = (m: IdMapping) => ranges.some((r) => m.hostID >= r.start && m.hostID + m.size <= r.start + r.count);
  return maps.find((m) => !(m.hostID === own && m.size === 1) && !within(m));
}

function mapperFor(kind: 'uid' | 'gid', maps: readonly IdMapping[], caller: Caller): string {
  const own = kind === 'uid' ? caller.uid : caller.gid;
  const subordinate = caller.subordinate?.[kind];
  if (!subordinate?.mapper) {
    const tool = kind === 'uid' ? 'newuidmap' : 'newgidmap';
    throw invalid(`linux.${kind}Mappings: as an unprivileged user, mapping ids other than your own needs ${tool} (Debian's uidmap package)`);
  }
  const outside = notGranted(maps, own, subordinate.ranges);
  if (outside)
    throw invalid(
      `linux.${kind}Mappings: host ${kind}s ${outside.hostID}-${outside.hostID + outside.size - 1} are neither yours (${own}) nor subordinate ${kind}s of ${caller.name ?? caller.uid} in ${subordinate.file}`,
    );
  return subordinate.mapper;
}

/** The `id_maps` op for a new user namespace, or undefined when the container creates none. */
export function userNamespacePlan(spec: Spec, caller: Caller): UserNamespacePlan | undefined {
  if (!hasNewNamespace(spec, 'user')) return undefined;
  const uids = spec.linux!.uidMappings!;
  const gids = spec.linux!.gidMappings!;
  if (caller.uid === 0) return { op: ['id_maps', mapText(uids), mapText(gids), '', '', ''], setgroupsDenied: false };
  const newuidmap = isOwnOnly(uids, caller.uid) ? '' : mapperFor('uid', uids, caller);
  const newgidmap = isOwnOnly(gids, caller.gid) ? '' : mapperFor('gid', gids, caller);
  // The kernel lets an unprivileged process write a gid map only once setgroups is denied.
  const setgroupsDenied = newgidmap === '';
  return { op: ['id_maps', mapText(uids), mapText(gids), setgroupsDenied ? 'deny' : '', newuidmap, newgidmap], setgroupsDenied };
}

/** Whether `id` (a container id) is in the maps. */
export const isMapped = (maps: readonly IdMapping[], id: number) => maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
