/**
 * A container's status, derived from the system rather than remembered: its first process
 * gone (or a zombie, or a different process under the same pid) means stopped; its cgroup
 * frozen means paused; still listening for `start` means created; otherwise running.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isFrozen } from '../cgroups/freezer.js';
import type { StoredState } from './store.js';
import { START_SOCKET } from './store.js';

export type Status = 'created' | 'running' | 'paused' | 'stopped';

export interface ProcessStat {
  /** R, S, D, Z, T… */
  state: string;
  /** Clock ticks after boot. */
  startTime: string;
}

export function readProcessStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces and parentheses itself.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, startTime: fields[19]! };
}

/** Whether pid is still the container's first process, alive. */
export function isAlive(state: StoredState): boolean {
  if (state.pid <= 0) return false;
  const stat = readProcessStat(state.pid);
  return stat !== undefined && stat.startTime === state.startTime && stat.state !== 'Z' && stat.state !== 'X';
}

export function statusOf(state: StoredState, stateDir: string): Status {
  if (!isAlive(state)) return 'stopped';
  if (isFrozen(state.cgroup.freezer)) return 'paused';
  return existsSync(path.join(stateDir, START_SOCKET)) ? 'created' : 'running';
}
