/**
 * Running a plan in the native helper. The helper is spawned with the container's stdio on
 * 0-2, the fds passed on purpose on 3…, then the sync socket, then (with a terminal) the
 * console socket. It reads the plan from the sync socket and answers with NUL-terminated
 * messages: "pid N" (the container's first process exists), "ready" (it waits for start), or
 * "error <step>: <ERRNO>". The socket closes once both the helper and the container's process
 * are done with it, which is when the outcome is known.
 */
import { closeSync } from 'node:fs';
import { helperPath, requireAddon } from '@oci/native';
import { RuntimeError } from './errors.js';
import { ProcessHandle } from './pidfd.js';
import { encodePlan, type Op } from './plan/ops.js';
import { readToEnd, writeAll } from './socket.js';

/** Where each fd lands in the helper, for a given number of passed fds. */
export interface FdLayout {
  sync: number;
  console: number;
}

export function fdLayout(passed: number): FdLayout {
  return { sync: 3 + passed, console: 4 + passed };
}

export interface HelperOptions {
  /** The container's stdin, stdout, stderr: fds of this process. */
  stdio: readonly [number, number, number];
  /** How many of this process's fds from 3 up the container gets, at the same numbers. */
  passFds: number;
  /** A connected unix socket (an fd of this process) for the terminal's master. */
  console?: number;
}

let executable: string | undefined;

/**
 * The helper is executed from a sealed memfd copy (CVE-2019-5736): the container's first
 * process is the helper until it execs, and a container that could write through its
 * /proc/PID/exe would otherwise rewrite the helper on the host. One copy per process.
 */
function helperExecutable(): string {
  executable ??= `/proc/${process.pid}/fd/${requireAddon().sealedCopy(helperPath)}`;
  return executable;
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
  /** Sends the plan; resolves once the container's process is ready, or rejects with the step that failed. */
  run(plan: readonly Op[]): Promise<PlanResult>;
  /** No plan after all: the helper reads the end of its socket, exits, and is reaped. */
  abort(): Promise<void>;
}

export function spawnHelper(options: HelperOptions): WaitingHelper {
  const addon = requireAddon();
  const fds = fdLayout(options.passFds);
  const [ours, theirs] = addon.socketpair();
  const childFds = [...options.stdio, ...Array.from({ length: options.passFds }, (_, i) => 3 + i), theirs];
  if (options.console !== undefined) childFds.push(options.console);
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
    async run(plan) {
      // A helper that dies early closes its end (EPIPE): what it said before dying tells why.
      writeAll(ours, encodePlan(plan));
      const [bytes, helperExit] = await Promise.all([readToEnd(ours), helper.wait()]);
      const received = bytes.toString('utf8').split('\0').filter(Boolean);
      const pid = Number(received.find((m) => m.startsWith('pid '))?.slice(4)) || undefined;
      const error = received.find((m) => m.startsWith('error '))?.slice(6);
      if (error !== undefined || !received.includes('ready') || pid === undefined) {
        if (pid !== undefined) await killChild(pid);
        const how = helperExit.signal !== undefined ? `signal ${helperExit.signal}` : `exit status ${helperExit.code}`;
        throw new RuntimeError('ECREATE', error ?? `the helper ended without a word (${how})`);
      }
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
