/** update: new cgroup limits for a live container (device rules stay). */
import type { Resources } from '@oci/specs';
import { updateCgroup } from '../cgroups/update.js';
import { checkResources } from '../config.js';
import { invalid, notRunning } from '../errors.js';
import { cgroupLayout } from '../host.js';
import type { RuntimeContext } from './context.js';
import { withStatus } from './lookup.js';

export async function update(context: RuntimeContext, id: string, resources: Resources): Promise<void> {
  const problem = checkResources(resources);
  if (problem) throw invalid(`resources: ${problem}`);
  if (resources.devices?.length) context.warn('update leaves device rules as they are: devices ignored');
  await withStatus(context, id, async (state, status) => {
    if (status === 'stopped') throw notRunning();
    updateCgroup(cgroupLayout(), state.cgroup, resources);
  });
}
