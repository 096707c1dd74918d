/**
 * Starting a process of a container through the helper, the sequence create (its first process)
 * and exec (another one) share, as youki's init and tenant builders share builder_impl: the
 * console socket the terminal's master comes back on, the connection to the seccomp agent, where
 * those land in the helper (the fd layout), the helper spawned, the caller's plan run in it, and
 * the pid file. On failure nothing of it is left: the sockets closed, a helper without a plan
 * reaped, a process that never became the caller's killed.
 */
import { closeSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Seccomp } from '@oci/specs';
import { type ConsoleSocket, closeConsoleSocket, openConsoleSocket, receiveMaster } from '../console.js';
import { invalid, RuntimeError } from '../errors.js';
import { fdLayout, type PlanCallbacks, spawnHelper, type WaitingHelper } from '../helper.js';
import { ProcessHandle } from '../pidfd.js';
import type { PlanOptions } from '../plan/common.js';
import type { Op } from '../plan/ops.js';
import { needsAgent } from '../plan/seccomp.js';
import { compileSeccomp } from '../seccomp/compile.js';
import { SIGKILL } from '../signals.js';
import { connectUnix } from '../socket.js';
import type { RuntimeContext } from './context.js';

/** How the process is wired to the caller, as create's and exec's options both say it. */
export interface Wiring {
  /** Its stdin, stdout, stderr as fds of this process; our own 0, 1, 2 by default. */
  stdio?: readonly [number, number, number];
  /** A listening unix socket to send the terminal's master to. */
  consoleSocket?: string;
  /** Written with its pid once it runs. */
  pidFile?: string;
}

export interface LaunchOptions {
  /** How many of this process's fds from 3 up it gets, at the same numbers. */
  passFds: number;
  /** process.terminal: its master goes to the console socket, or else comes back to us with `receiveTerminal`. */
  terminal: boolean;
  receiveTerminal: boolean | undefined;
  /** The container's linux.seccomp: compiled for the plan, and its agent connected for SCMP_ACT_NOTIFY rules. */
  seccomp: Seccomp | undefined;
}

/** What the plan takes from the launch: the helper's fds of what it was given, and the compiled filter. */
export type Launching = Pick<PlanOptions, 'consoleFd' | 'seccompAgentFd' | 'seccomp'>;

/** The caller's plan, and how far the helper runs it: until the container is `ready`, or until the program execs. */
export interface LaunchPlan {
  ops: readonly Op[];
  until: 'ready' | 'exec';
  callbacks?: PlanCallbacks;
}

export interface Launched {
  /** The process (our child): the container's first one, or the exec'd program. */
  handle: ProcessHandle;
  /** The terminal's master, when it came back to us. */
  terminal?: number;
}

/**
 * Launches a process: `plan` is called once the helper is spawned (its exec overlaps with the
 * work of planning), with what the plan must name.
 */
export async function launch(
  context: RuntimeContext,
  wiring: Wiring,
  options: LaunchOptions,
  plan: (launching: Launching) => Promise<LaunchPlan>,
): Promise<Launched> {
  const consoleSocket = openConsoleSocket(options.terminal, { consoleSocket: wiring.consoleSocket, receive: options.receiveTerminal });
  let seccompAgent: number | undefined;
  let helper: WaitingHelper | undefined;
  try {
    if (needsAgent(options.seccomp)) seccompAgent = connectSeccompAgent(options.seccomp!.listenerPath);
    helper = spawnHelper({ stdio: wiring.stdio ?? [0, 1, 2], passFds: options.passFds, console: consoleSocket?.theirs, seccompAgent });
    const fds = fdLayout(options.passFds, { console: consoleSocket !== undefined });
    const seccomp = options.seccomp && compileSeccomp(options.seccomp, { cacheDir: context.store.seccompCacheDir(), debug: context.debug });
    const { ops, until, callbacks } = await plan({
      consoleFd: consoleSocket && fds.console,
      seccompAgentFd: seccompAgent === undefined ? undefined : fds.seccompAgent,
      seccomp,
    });
    const running = helper;
    helper = undefined;
    const { pid } = await running.run(ops, callbacks, until);
    return await takeOver(pid, consoleSocket, wiring.pidFile);
  } catch (error) {
    await helper?.abort();
    throw error;
  } finally {
    closeConsoleSocket(consoleSocket);
    if (seccompAgent !== undefined) closeSync(seccompAgent);
  }
}

/** The launched process, its terminal and its pid file; killed if any of them fails. */
async function takeOver(pid: number, consoleSocket: ConsoleSocket | undefined, pidFile: string | undefined): Promise<Launched> {
  const handle = ProcessHandle.open(pid)!;
  try {
    const terminal = consoleSocket && receiveMaster(consoleSocket);
    if (pidFile) writePidFile(pidFile, pid);
    return { handle, terminal };
  } catch (error) {
    handle.signal(SIGKILL);
    await handle.wait();
    throw error;
  }
}

/**
 * A terminal proxied to ours needs one of ours, as in runc (stderr, stdout or stdin, else the
 * controlling terminal): without, the program would get a terminal that nobody reads.
 */
export async function requireOurTerminal(): Promise<void> {
  const { ourTerminal } = await import('../terminal.js');
  const terminal = ourTerminal();
  if (terminal === undefined)
    throw invalid(
      'process.terminal is true, but there is no terminal here to attach it to (stdin, stdout, stderr and /dev/tty are none): give --console-socket, or set process.terminal to false',
    );
  terminal.close();
}

/** A connection to the seccomp agent, made here on the host's side so that its path is the host's. */
function connectSeccompAgent(listenerPath: string | undefined): number {
  if (!listenerPath) throw new RuntimeError('EINVALID', 'linux.seccomp: SCMP_ACT_NOTIFY needs a listenerPath, where the seccomp agent listens');
  try {
    return connectUnix(listenerPath);
  } catch (error) {
    throw new RuntimeError('EINVALID', `seccomp agent at ${listenerPath}: ${(error as NodeJS.ErrnoException).code}`, { cause: error });
  }
}

/** Whole or absent, never half-written: engines read it as soon as create returns. */
function writePidFile(file: string, pid: number): void {
  const target = path.resolve(file);
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}`);
  writeFileSync(temp, String(pid));
  renameSync(temp, target);
}
