/** pause and resume: every process in the container's cgroup frozen, and thawed. */
import { freeze, thaw } from '../cgroups/freezer.js';
import { notRunning, RuntimeError } from '../errors.js';
import type { RuntimeContext } from './context.js';
import { withStatus } from './lookup.js';

export async function pause(context: RuntimeContext, id: string): Promise<void> {
  await withStatus(context, id, async (state, status) => {
    if (status === 'paused') throw new RuntimeError('ESTATE', `container ${id} is paused already`);
    if (status !== 'running' && status !== 'created') throw notRunning();
    if (!state.cgroup.freezer) throw new RuntimeError('ESTATE', 'cannot pause: this host has no cgroup freezer');
    await freeze(state.cgroup.freezer);
  });
}

export async function resume(context: RuntimeContext, id: string): Promise<void> {
  await withStatus(context, id, async (state, status) => {
    if (status !== 'paused') throw new RuntimeError('ESTATE', 'container not paused');
    thaw(state.cgroup.freezer!);
  });
}
