/** stats and events: the container's resource usage from its cgroups, once or at an interval with its OOM kills. */
import { type ContainerStats, readStats } from '../cgroups/stats.js';
import { invalid } from '../errors.js';
import { type ContainerEvent, containerEvents } from '../events.js';
import { cgroupLayout } from '../host.js';
import type { RuntimeContext } from './context.js';
import { liveState, notRunningWithId, openIfAlive } from './lookup.js';

export async function stats(context: RuntimeContext, id: string): Promise<ContainerStats> {
  return readStats(cgroupLayout(), liveState(context, id).cgroup);
}

export async function* events(context: RuntimeContext, id: string, { interval = 5000 }: { interval?: number } = {}): AsyncGenerator<ContainerEvent> {
  if (!(interval > 0)) throw invalid('the interval must be greater than 0');
  const state = liveState(context, id);
  const handle = openIfAlive(state);
  if (!handle) throw notRunningWithId(id);
  try {
    yield* containerEvents({ id, layout: cgroupLayout(), record: state.cgroup, interval, stopped: handle.exited() });
  } finally {
    handle.close();
  }
}
