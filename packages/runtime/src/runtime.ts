/**
 * The runc-compatible lifecycle: create, start, state, kill, delete, list. Node never enters the
 * container: every namespace and mount step runs in the native helper, and after `create`
 * returns no Node process needs to stay alive (the container's first process waits on its
 * start socket; its state is on disk and its status is read from the system).
 *
 * This class is the library's face; each operation is a module of container/ (as youki's
 * container_start.rs, container_kill.rs…), create and exec launching their process through one
 * sequence (container/launch.ts).
 */
import path from 'node:path';
import type { Resources } from '@oci/specs';
import type { ContainerStats } from './cgroups/stats.js';
import { checkpoint, restore } from './container/checkpoint.js';
import { Children } from './container/children.js';
import type { RuntimeContext } from './container/context.js';
import { type Container, type CreateOptions, type CreateTrace, create } from './container/create.js';
import { deleteContainer } from './container/delete.js';
import { events, stats } from './container/events.js';
import { type DetachedProcess, exec } from './container/exec.js';
import { kill } from './container/kill.js';
import { pause, resume } from './container/pause.js';
import { type RunOptions, run } from './container/run.js';
import { start } from './container/start.js';
import { type ContainerState, list, ps, state } from './container/state.js';
import { update } from './container/update.js';
import type { ContainerEvent } from './events.js';
import type { ExecOptions } from './exec.js';
import type { ProcessExit } from './pidfd.js';
import { StateStore } from './state/store.js';

export type { Container, ContainerState, CreateOptions, CreateTrace, DetachedProcess, RunOptions };

export interface RuntimeOptions {
  /** The state root: a directory per container (runc's --root). */
  root: string;
  /** Told about what is ignored (unknown capabilities…) and about failed poststart and poststop hooks. */
  warn?: (message: string) => void;
  /** Told about what is left out quietly (syscalls libseccomp does not know, as runc logs them). */
  debug?: (message: string) => void;
  /**
   * Go without cgroups where this process may not make them, when config.json sets no limit
   * (runc's --rootless). Default: when not running as root.
   */
  rootless?: boolean;
}

export class Runtime {
  readonly store: StateStore;
  readonly #context: RuntimeContext;

  constructor(options: RuntimeOptions) {
    this.store = new StateStore(path.resolve(options.root));
    this.#context = {
      store: this.store,
      warn: options.warn ?? (() => {}),
      debug: options.debug ?? (() => {}),
      rootless: options.rootless ?? process.geteuid!() !== 0,
      children: new Children(),
    };
  }

  async create(id: string, options: CreateOptions): Promise<Container> {
    return create(this.#context, id, options);
  }

  /**
   * create, start, wait, delete: the program runs in the foreground with our stdio (or, with
   * process.terminal, a pty proxied to it), our signals are passed on, and the result is its
   * exit code (128+N when signal N killed it). It dies with this process, even one killed by
   * SIGKILL, which cannot be passed on (runc's `run` would leave it running); its state then
   * stays until deleted. With `detach` it returns 0 once started, and the program outlives us.
   */
  async run(id: string, options: RunOptions): Promise<number> {
    return run(this.#context, id, options);
  }

  /** Runs the program: the container's process stops waiting and execs it. */
  async start(id: string): Promise<void> {
    return start(this.#context, id);
  }

  /**
   * Starts another process in a created or running container: in its namespaces and cgroups,
   * with the process's own identity and limits, and what the container imposes on all of its
   * processes. In the foreground it resolves with how the program ended, `{ code }` or
   * `{ signal }` as `Container.wait()` does; with `detach`, with its pid once it runs.
   */
  exec(id: string, options: ExecOptions & { detach: true }): Promise<DetachedProcess>;
  exec(id: string, options: ExecOptions & { detach?: false }): Promise<ProcessExit>;
  exec(id: string, options: ExecOptions): Promise<ProcessExit | DetachedProcess>;
  async exec(id: string, options: ExecOptions): Promise<ProcessExit | DetachedProcess> {
    return exec(this.#context, id, options);
  }

  async state(id: string): Promise<ContainerState> {
    return state(this.#context, id);
  }

  async list(): Promise<ContainerState[]> {
    return list(this.#context);
  }

  /** Host pids of every process in the container's cgroups (what runc's `ps` lists). */
  async ps(id: string): Promise<number[]> {
    return ps(this.#context, id);
  }

  /**
   * Sends a signal to the container's first process, or with `all` to every process in its
   * cgroup (which also reaches what is left after the first process died).
   */
  async kill(id: string, signal: string | number = 'SIGTERM', { all = false } = {}): Promise<void> {
    return kill(this.#context, id, signal, { all });
  }

  /** Freezes every process in the container's cgroup: `state` says paused until `resume`. */
  async pause(id: string): Promise<void> {
    return pause(this.#context, id);
  }

  /** Thaws a paused container. */
  async resume(id: string): Promise<void> {
    return resume(this.#context, id);
  }

  /**
   * New cgroup limits for a live container: only the fields given change (runc's `update`);
   * device rules never do.
   */
  async update(id: string, resources: Resources): Promise<void> {
    return update(this.#context, id, resources);
  }

  /** The container's resource usage from its cgroups, as runc's `events --stats` reports it. */
  async stats(id: string): Promise<ContainerStats> {
    return stats(this.#context, id);
  }

  /**
   * runc's `events`: stats every `interval` ms and an `oom` event whenever the OOM killer acts
   * in the container, until the container stops.
   */
  async *events(id: string, { interval = 5000 }: { interval?: number } = {}): AsyncGenerator<ContainerEvent> {
    yield* events(this.#context, id, { interval });
  }

  /**
   * Checkpoint and restore need CRIU, which this runtime does not drive: the container is
   * checked as runc would, then left as it is, with an error that says so.
   */
  async checkpoint(id: string): Promise<never> {
    return checkpoint(this.#context, id);
  }

  async restore(id: string, { bundle }: { bundle: string }): Promise<never> {
    return restore(this.#context, id, { bundle });
  }

  /**
   * Removes a stopped container, or a created one (killing its waiting process, as runc does).
   * A running one needs `force`: it is killed first.
   */
  async delete(id: string, { force = false } = {}): Promise<void> {
    return deleteContainer(this.#context, id, { force });
  }
}
