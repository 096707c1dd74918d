/** linux.namespaces as clone flags (new ones) and setns ops (those given by path). */
import type { Namespace, NamespaceType, Spec } from '@oci/specs';
import type { Op } from './ops.js';

export const CLONE_NEW: Readonly<Record<NamespaceType, number>> = {
  mount: 0x00020000,
  cgroup: 0x02000000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  network: 0x40000000,
  time: 0x00000080,
};

/** Join order: user first (it grants the rights the others need), mount last (it changes what
    the other paths resolve to). */
const JOIN_ORDER: readonly NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];

export interface NamespacePlan {
  /** setns ops, then (for a new time namespace) timens, to run before clone. */
  before: Op[];
  /** CLONE_NEW* flags of the namespaces to create. */
  cloneFlags: number;
}

export function namespacePlan(spec: Spec): NamespacePlan {
  const namespaces: Namespace[] = spec.linux?.namespaces ?? [];
  const joined = namespaces.filter((ns) => ns.path).sort((a, b) => JOIN_ORDER.indexOf(a.type) - JOIN_ORDER.indexOf(b.type));
  const before: Op[] = joined.map((ns): Op => ['setns', ns.path!, CLONE_NEW[ns.type]]);
  let cloneFlags = 0;
  for (const ns of namespaces.filter((n) => !n.path)) {
    if (ns.type === 'time') before.push(timeNamespaceOp(spec));
    else cloneFlags |= CLONE_NEW[ns.type];
  }
  return { before, cloneFlags };
}

function timeNamespaceOp(spec: Spec): Op {
  const offsets = spec.linux?.timeOffsets ?? {};
  const of = (clock: string) => offsets[clock] ?? {};
  return ['timens', of('monotonic').secs ?? 0, of('monotonic').nanosecs ?? 0, of('boottime').secs ?? 0, of('boottime').nanosecs ?? 0];
}

export const hasNewNamespace = (spec: Spec, type: NamespaceType) => spec.linux?.namespaces?.some((ns) => ns.type === type && !ns.path) ?? false;
export const hasNamespace = (spec: Spec, type: NamespaceType) => spec.linux?.namespaces?.some((ns) => ns.type === type) ?? false;
