/**
 * Running a plan in the native helper. The helper is spawned with the container's stdio on
 * 0-2, the fds passed on purpose on 3…, then the sync socket, then (with a terminal) the
 * console socket, then (with SCMP_ACT_NOTIFY rules) the connection to the seccomp agent. It
 * reads the plan from the sync socket and answers with NUL-terminated messages: "pid N" (the
 * process exists), "sync NAME" (it waits for our go-ahead: a byte), "ready" (a container's first
 * process is created: it too waits for our go-ahead, dying with us until then, so that we record
 * it first), "exec" (an exec'd process is about to run its program), or "error <step>: <ERRNO>".
 * The socket closes once both the helper and the process are done with it (the process's end
 * closes on exec, or after "ready"), which is when the outcome is known.
 */
import { closeSync } from 'node:fs';
import { helperPath, requireAddon } from '@oci/native';
import { RuntimeError } from './errors.js';
import { ProcessHandle } from './pidfd.js';
import { encodePlan, type Op } from './plan/ops.js';
import { readMessages, writeAll } from './socket.js';

/** Where each fd lands in the helper, for a given number of passed fds. */
export interface FdLayout {
  sync: number;
  console: number;
  /** After the console socket when there is one. */
  seccompAgent: number;
}

export function fdLayout(passed: number, { console = false } = {}): FdLayout {
  return { sync: 3 + passed, console: 4 + passed, seccompAgent: (console ? 5 : 4) + passed };
}

export interface HelperOptions {
  /** The container's stdin, stdout, stderr: fds of this process. */
  stdio: readonly [number, number, number];
  /** How many of this process's fds from 3 up the container gets, at the same numbers. */
  passFds: number;
  /** A connected unix socket (an fd of this process) for the terminal's master. */
  console?: number;
  /** A connection (an fd of this process) to the seccomp agent, for the filter's listener. */
  seccompAgent?: number;
}

let executable: string | undefined;

/** What a `sync` op and `ready` wait for. */
const GO_AHEAD = Buffer.from([1]);
const READY = Symbol('ready');

/**
 * The helper is executed from a sealed memfd copy (CVE-2019-5736): the container's first
 * process is the helper until it execs, and a container that could write through its
 * /proc/PID/exe would otherwise rewrite the helper on the host. One copy per process.
 */
function helperExecutable(): string {
  executable ??= `/proc/${process.pid}/fd/${requireAddon().sealedCopy(helperPath())}`;
  return executable;
}

export interface PlanCallbacks {
  /** The container's first process exists (told even when the plan fails later). */
  onPid?(pid: number): void;
  /** The container's process waits at a `sync` op until this resolves; a rejection fails the plan. */
  onSync?(name: string, pid: number): Promise<void>;
  /**
   * The container's process is ready; it dies with us until this returns, so what must know of
   * it (the state) is written here. A throw fails the plan.
   */
  onReady?(pid: number): void;
}

export interface PlanResult {
  /** The container's first process (our child: the helper clones it with CLONE_PARENT). */
  pid: number;
}

/**
 * A helper spawned and waiting for its plan. Spawning first lets the helper's exec overlap
 * with the cgroup and plan work of create; a create that fails before `run` calls `abort`.
 */
export interface WaitingHelper {
  /**
   * Sends the plan; resolves once the process is `ready` (create) or runs its program (`exec`),
   * or rejects with the step that failed.
   */
  run(plan: readonly Op[], callbacks?: PlanCallbacks, until?: 'ready' | 'exec'): Promise<PlanResult>;
  /** No plan after all: the helper reads the end of its socket, exits, and is reaped. */
  abort(): Promise<void>;
}

export function spawnHelper(options: HelperOptions): WaitingHelper {
  const addon = requireAddon();
  const fds = fdLayout(options.passFds);
  const [ours, theirs] = addon.socketpair();
  const childFds = [...options.stdio, ...Array.from({ length: options.passFds }, (_, i) => 3 + i), theirs];
  if (options.console !== undefined) childFds.push(options.console);
  if (options.seccompAgent !== undefined) childFds.push(options.seccompAgent);
  let helper: ProcessHandle;
  try {
    helper = ProcessHandle.open(addon.spawn(helperExecutable(), ['oci-helper', 'plan', String(fds.sync)], childFds))!;
  } catch (error) {
    closeSync(ours);
    throw error;
  } finally {
    closeSync(theirs);
  }
  return {
    async run(plan, callbacks = {}, until = 'ready') {
      // A helper that dies early closes its end (EPIPE): what it said before dying tells why.
      writeAll(ours, encodePlan(plan));
      const helperExit = helper.wait();
      let pid: number | undefined;
      let error: string | undefined;
      let done = false;
      let waiting: string | typeof READY | undefined;
      try {
        for await (const message of readMessages(ours)) {
          if (message.startsWith('pid ')) {
            pid = Number(message.slice(4)) || undefined;
            if (pid !== undefined) callbacks.onPid?.(pid);
          } else if (message.startsWith('error ')) error ??= message.slice(6);
          else if (message.startsWith('sync ')) waiting = message.slice(5);
          else if (message === until) {
            done = true;
            if (until === 'ready') waiting = READY;
          }
          // The helper reports the pid as it clones; the container's process may speak first.
          if (waiting !== undefined && pid !== undefined) {
            if (waiting === READY) callbacks.onReady?.(pid);
            else await callbacks.onSync?.(waiting, pid);
            writeAll(ours, GO_AHEAD);
            waiting = undefined;
          }
        }
      } catch (failure) {
        if (pid !== undefined) await killChild(pid);
        await helperExit;
        throw failure;
      }
      if (error !== undefined || !done || pid === undefined) {
        if (pid !== undefined) await killChild(pid);
        const exit = await helperExit;
        const how = exit.signal !== undefined ? `signal ${exit.signal}` : `exit status ${exit.code}`;
        throw new RuntimeError('ECREATE', error ?? `the helper ended without a word (${how})`);
      }
      await helperExit;
      return { pid };
    },
    async abort() {
      closeSync(ours);
      await helper.wait();
    },
  };
}

/** Kills and reaps a container process that never became ready (it is our child). */
async function killChild(pid: number): Promise<void> {
  const child = ProcessHandle.open(pid);
  if (!child) return;
  child.signal(9);
  await child.wait();
}
