/**
 * The container's cgroup as create makes it. Rootless, where this user may not make one and
 * config.json sets no limit, the container goes without (as runc does): it then stays in ours,
 * and what needs a cgroup of its own (pause, update, stats, kill --all) says so.
 */
import type { Resources } from '@oci/specs';
import { makeCgroup, type CreatedCgroup, type PlannedCgroup } from '../cgroups/cgroup.js';
import type { RuntimeContext } from './context.js';

export async function makeContainerCgroup(context: RuntimeContext, id: string, planned: PlannedCgroup, resources: Resources | undefined): Promise<CreatedCgroup> {
  try {
    return await makeCgroup(planned);
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
  return Object.entries(resources).some(([key, value]) => key !== 'devices' && value !== undefined && !(typeof value === 'object' && Object.keys(value).length === 0));
}
