/** start: the container's waiting process execs the program, and poststart hooks run. */
import { unlinkSync } from 'node:fs';
import { notRunning, RuntimeError } from '../errors.js';
import { runHooksWarning } from '../hooks.js';
import { validateId } from '../id.js';
import { hookState } from '../plan/hooks.js';
import { connectUnix, readToEnd } from '../socket.js';
import { statusOf } from '../state/status.js';
import type { RuntimeContext } from './context.js';

export async function start({ store, warn }: RuntimeContext, id: string): Promise<void> {
  validateId(id);
  const lock = await store.lock(id);
  try {
    const state = store.read(id);
    const status = statusOf(state, store.dir(id));
    if (status === 'stopped') throw new RuntimeError('ESTATE', 'cannot start a container that has stopped');
    if (status === 'running') throw new RuntimeError('ESTATE', 'cannot start an already running container');
    if (status !== 'created') throw new RuntimeError('ESTATE', `cannot start a container in the ${status} state`);
    const failure = await requestStart(store.startSocket(id));
    unlinkSync(store.startSocket(id));
    if (failure) throw new RuntimeError(failure.startsWith('startContainer hook #') ? 'EHOOK' : 'ESTART', failure);
    await runHooksWarning(state.hooks, 'poststart', hookState(id, state.bundle, state.annotations, 'running', state.pid), state.bundle, warn);
  } finally {
    lock.release();
  }
}

/** Connects to the start socket; resolves with the container's error text, or '' once it exec'd. */
async function requestStart(socketPath: string): Promise<string> {
  let fd: number;
  try {
    fd = connectUnix(socketPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT') throw notRunning();
    throw error;
  }
  const text = (await readToEnd(fd)).toString('utf8').replace(/\0$/, '');
  return text.startsWith('error ') ? text.slice('error '.length) : text;
}
