/** delete: whatever still runs in the container is killed, then its cgroups, rootfs bind and state go, and poststop hooks run. */
import { cgroupPids, removeCgroup } from '../cgroups/cgroup.js';
import { isFrozen, thaw } from '../cgroups/freezer.js';
import { RuntimeError } from '../errors.js';
import { runHooksWarning } from '../hooks.js';
import { detachHostMount } from '../host-mount.js';
import { validateId } from '../id.js';
import { hookState } from '../plan/hooks.js';
import { SIGKILL } from '../signals.js';
import { statusOf } from '../state/status.js';
import type { Lock, StoredState } from '../state/store.js';
import type { RuntimeContext } from './context.js';
import { signalAll } from './kill.js';
import { openIfAlive } from './lookup.js';

/** The façade's `delete` (a keyword, hence the longer name). */
export async function deleteContainer(context: RuntimeContext, id: string, { force = false } = {}): Promise<void> {
  const { store } = context;
  validateId(id);
  let lock: Lock;
  try {
    lock = await store.lock(id);
  } catch (error) {
    if (force && (error as RuntimeError).code === 'ENOTFOUND') return;
    throw error;
  }
  try {
    let state: StoredState;
    try {
      state = store.read(id);
    } catch (error) {
      if ((error as RuntimeError).code !== 'ENOTFOUND' || !force) throw error;
      // A create killed midway: what it recorded before making anything is undone like a
      // container's (its process, if it ever had one, died with it or is in its cgroups).
      const creating = store.readCreating(id);
      if (!creating) return store.remove(id);
      state = creating;
    }
    const status = statusOf(state, store.dir(id));
    if ((status === 'running' || status === 'paused') && !force)
      throw new RuntimeError('ESTATE', `cannot delete container ${id} that is not stopped: it is ${status} (use --force)`);
    await stop(context, id, state);
    await removeCgroup(state.cgroup);
    if (state.hostMount) detachHostMount(state.hostMount);
    store.remove(id);
    await runHooksWarning(state.hooks, 'poststop', hookState(id, state.bundle, state.annotations, 'stopped'), state.bundle, context.warn);
  } finally {
    lock.release();
  }
}

/** Kills whatever still runs in the container and waits until it has exited. */
async function stop({ children }: RuntimeContext, id: string, state: StoredState): Promise<void> {
  const ours = children.handle(id);
  const handle = ours ?? openIfAlive(state);
  if (handle) handle.signal(SIGKILL);
  // Killed processes in a frozen v1 cgroup die only once it thaws.
  if (isFrozen(state.cgroup.freezer)) thaw(state.cgroup.freezer!);
  if (ours) {
    await children.wait(id);
    children.forget(id);
  } else if (handle) {
    await handle.exited();
    handle.close();
  }
  // Without a pid namespace, or after the first process died, others may remain.
  for (let round = 0; cgroupPids(state.cgroup).length > 0; round++) {
    signalAll(state, SIGKILL);
    if (round > 1000) throw new RuntimeError('ESTATE', `container ${id}: processes survive SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
