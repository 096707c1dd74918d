/** state, list, ps: a container as `oci state` describes it, every container, the processes in one. */
import { cgroupPids } from '../cgroups/cgroup.js';
import type { RuntimeError } from '../errors.js';
import { validateId } from '../id.js';
import { type Status, statusOf } from '../state/status.js';
import type { StateStore, StoredState } from '../state/store.js';
import type { RuntimeContext } from './context.js';

/** The state of a container, as `oci state` prints it (runtime-spec state, plus runc's extras). */
export interface ContainerState {
  ociVersion: string;
  id: string;
  status: Status;
  /** 0 once stopped. */
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

export async function state({ store }: RuntimeContext, id: string): Promise<ContainerState> {
  validateId(id);
  return describe(store, store.read(id));
}

export async function list({ store }: RuntimeContext): Promise<ContainerState[]> {
  const states: ContainerState[] = [];
  for (const id of store.ids()) {
    try {
      states.push(describe(store, store.read(id)));
    } catch (error) {
      if ((error as RuntimeError).code !== 'ENOTFOUND') throw error; // deleted meanwhile
    }
  }
  return states;
}

export async function ps({ store }: RuntimeContext, id: string): Promise<number[]> {
  validateId(id);
  return cgroupPids(store.read(id).cgroup).sort((a, b) => a - b);
}

function describe(store: StateStore, state: StoredState): ContainerState {
  const status = statusOf(state, store.dir(state.id));
  const annotations = Object.keys(state.annotations).length > 0 ? { annotations: state.annotations } : {};
  return {
    ociVersion: state.ociVersion,
    id: state.id,
    pid: status === 'stopped' ? 0 : state.pid,
    status,
    bundle: state.bundle,
    rootfs: state.rootfs,
    created: state.created,
    owner: '',
    ...annotations,
  };
}
