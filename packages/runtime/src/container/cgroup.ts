/**
 * The container's cgroup as create makes it, and its hierarchies as the plan's `cgroup` mounts
 * show them inside the container (the cgroups subsystem knows nothing of the plan; this is
 * where the two meet).
 *
 * Rootless, where this user may not make one and config.json sets no limit, the container goes
 * without (as runc does): it then stays in ours, and what needs a cgroup of its own (pause,
 * update, stats, kill --all) says so.
 */
import path from 'node:path';
import type { Resources } from '@oci/specs';
import { type CgroupRecord, makeCgroup, type PlannedCgroup } from '../cgroups/cgroup.js';
import type { CgroupMountSource } from '../plan/mounts.js';
import type { RuntimeContext } from './context.js';

export interface ContainerCgroup {
  record: CgroupRecord;
  /** The hierarchies as a `cgroup` mount inside the container shows them. */
  mountSources: CgroupMountSource[];
}

export async function makeContainerCgroup(
  context: RuntimeContext,
  id: string,
  planned: PlannedCgroup,
  resources: Resources | undefined,
): Promise<ContainerCgroup> {
  try {
    return { record: await makeCgroup(planned), mountSources: mountSources(planned) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const denied = code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
    if (!context.rootless || !denied || hasLimits(resources)) throw error;
    context.debug(`rootless: no cgroup for ${id} (${code})`);
    return { record: { dirs: [], created: [] }, mountSources: [] };
  }
}

/** Whether linux.resources asks for anything a cgroup would have to enforce. */
function hasLimits(resources: Resources | undefined): boolean {
  if (!resources) return false;
  // Device rules alone are what every container gets; others are limits.
  return Object.entries(resources).some(
    ([key, value]) => key !== 'devices' && value !== undefined && !(typeof value === 'object' && Object.keys(value).length === 0),
  );
}

/** cgroup2 alone on a v2 host; each v1 hierarchy on a v1 or hybrid one (the hybrid's unified one is not shown). */
function mountSources({ layout, dirs }: PlannedCgroup): CgroupMountSource[] {
  const v1 = layout.hierarchies.filter((h) => h.version === 1);
  if (v1.length === 0) {
    const v2 = layout.hierarchies[0]!;
    return [{ name: '', fstype: 'cgroup2', data: '', hostDir: dirs.get(v2)!, aliases: [] }];
  }
  return v1.map((h) => {
    const name = path.basename(h.mountPoint);
    return { name, fstype: 'cgroup', data: h.controllers.join(','), hostDir: dirs.get(h)!, aliases: name.includes(',') ? name.split(',') : [] };
  });
}
