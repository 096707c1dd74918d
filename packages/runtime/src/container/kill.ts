/** kill: a signal to the container's first process, or with `all` to every process in its cgroup. */
import { cgroupPids } from '../cgroups/cgroup.js';
import { freeze, isFrozen, thaw } from '../cgroups/freezer.js';
import { notRunning } from '../errors.js';
import { validateId } from '../id.js';
import { parseSignal, SIGKILL } from '../signals.js';
import { isAlive } from '../state/status.js';
import type { StoredState } from '../state/store.js';
import type { RuntimeContext } from './context.js';
import { openIfAlive } from './lookup.js';

export async function kill({ store }: RuntimeContext, id: string, signal: string | number, { all = false } = {}): Promise<void> {
  validateId(id);
  const number = parseSignal(signal);
  const state = store.read(id);
  if (all) return signalEveryProcess(state, number);
  const handle = openIfAlive(state);
  if (!handle) throw notRunning();
  try {
    if (!handle.signal(number)) throw notRunning();
  } finally {
    handle.close();
  }
  // A frozen process dies only once thawed (v1): SIGKILL resumes a paused container, as in runc.
  if (number === SIGKILL && isFrozen(state.cgroup.freezer)) thaw(state.cgroup.freezer!);
}

/**
 * kill --all: the cgroup is frozen while its processes are listed and signalled, so none forks
 * a child that escapes the signal (as runc does); a paused container stays paused, except that
 * SIGKILL thaws it so its processes can die.
 */
async function signalEveryProcess(state: StoredState, signal: number): Promise<void> {
  const freezer = state.cgroup.freezer;
  const paused = isFrozen(freezer);
  let froze = false;
  if (freezer && !paused && cgroupPids(state.cgroup).length > 0) {
    froze = await freeze(freezer).then(
      () => true,
      () => false, // signalled unfrozen then, as runc does when freezing fails
    );
  }
  try {
    signalAll(state, signal);
  } finally {
    if (froze || (paused && signal === SIGKILL)) thaw(freezer!);
  }
}

/** Signals every process in the container's cgroup, as they are now. */
export function signalAll(state: StoredState, signal: number): void {
  // A rootless container may have no cgroup of its own: then its first process is all we know.
  const pids = state.cgroup.dirs.length > 0 ? cgroupPids(state.cgroup) : isAlive(state) ? [state.pid] : [];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}
