/** What every operation on containers works with, made once by the Runtime façade (../runtime.ts). */
import type { StateStore } from '../state/store.js';
import type { Children } from './children.js';

export interface RuntimeContext {
  /** The state root: a directory per container. */
  readonly store: StateStore;
  /** Told about what is ignored, and about failed poststart and poststop hooks. */
  readonly warn: (message: string) => void;
  /** Told about what is left out quietly. */
  readonly debug: (message: string) => void;
  /** Containers go without a cgroup where this process may not make one and none is needed. */
  readonly rootless: boolean;
  /** The containers this process created, until reaped. */
  readonly children: Children;
}
