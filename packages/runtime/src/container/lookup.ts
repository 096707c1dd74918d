/** Finding a container for an operation: its state and status as they are now, its first process while alive. */
import { RuntimeError } from '../errors.js';
import { validateId } from '../id.js';
import { ProcessHandle } from '../pidfd.js';
import { isAlive, type Status, statusOf } from '../state/status.js';
import type { StoredState } from '../state/store.js';
import type { RuntimeContext } from './context.js';

/** The state of a container that has not stopped. */
export function liveState({ store }: RuntimeContext, id: string): StoredState {
  validateId(id);
  const state = store.read(id);
  if (statusOf(state, store.dir(id)) === 'stopped') throw notRunningWithId(id);
  return state;
}

/** Runs `change` holding the container's lock, with its state and status as they are now. */
export async function withStatus<T>({ store }: RuntimeContext, id: string, change: (state: StoredState, status: Status) => Promise<T>): Promise<T> {
  validateId(id);
  const lock = await store.lock(id);
  try {
    const state = store.read(id);
    return await change(state, statusOf(state, store.dir(id)));
  } finally {
    lock.release();
  }
}

/** A handle on the container's first process, if it is still that process and alive. */
export function openIfAlive(state: StoredState): ProcessHandle | undefined {
  if (!isAlive(state)) return undefined;
  const handle = ProcessHandle.open(state.pid);
  // The pid could have been reused between the check and the open: check again, now that the
  // handle pins whatever process it names.
  if (handle && !isAlive(state)) {
    handle.close();
    return undefined;
  }
  return handle;
}

/** runc's words for events on a stopped container. */
export const notRunningWithId = (id: string) => new RuntimeError('ENOTRUNNING', `container with id ${id} is not running`);
