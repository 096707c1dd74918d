/** exec: another process in a created or running container, launched as create launches its first. */
import { readFileSync } from 'node:fs';
import { checkProcess, loadBundle } from '../config.js';
import { invalid, notRunning, RuntimeError } from '../errors.js';
import { type ExecOptions, withChanges } from '../exec.js';
import { inForeground } from '../foreground.js';
import { homeOf } from '../home.js';
import { hostFacts } from '../host.js';
import { validateId } from '../id.js';
import type { ProcessExit } from '../pidfd.js';
import { execPlan } from '../plan/exec.js';
import { unsharedNamespaces } from '../process-namespaces.js';
import { statusOf } from '../state/status.js';
import type { StoredState } from '../state/store.js';
import type { RuntimeContext } from './context.js';
import { type Launched, launch, requireOurTerminal } from './launch.js';

/** A process `exec` started with `detach`: it runs on, no longer ours to wait for. */
export interface DetachedProcess {
  /** Its pid on the host. */
  pid: number;
}

export async function exec(context: RuntimeContext, id: string, options: ExecOptions): Promise<ProcessExit | DetachedProcess> {
  validateId(id);
  const lock = await context.store.lock(id);
  let launched: Launched;
  try {
    launched = await startInContainer(context, context.store.read(id), options);
  } finally {
    lock.release();
  }
  const { handle, terminal } = launched;
  if (options.detach) {
    handle.detach();
    return { pid: handle.pid };
  }
  return inForeground(handle.pid, terminal, () => handle.wait());
}

async function startInContainer(context: RuntimeContext, state: StoredState, options: ExecOptions): Promise<Launched> {
  const status = statusOf(state, context.store.dir(state.id));
  if (status === 'stopped') throw notRunning();
  // Not even with runc's --ignore-paused: the helper itself would freeze as it joins the cgroup.
  if (status === 'paused') throw new RuntimeError('ESTATE', 'cannot exec in a paused container: resume it first');
  const namespaces = unsharedNamespaces(state.pid);
  if (namespaces === undefined) throw notRunning();
  const { spec } = loadBundle(state.bundle);
  let proc = options.process ?? withChanges(spec.process!, options.changes ?? { args: [] });
  const problem = checkProcess(proc);
  if (problem) throw invalid(problem);
  // A terminal proxied to ours starts at our size: the program runs before the proxy does.
  if (proc.terminal && !proc.consoleSize && !options.consoleSocket && !options.detach)
    proc = { ...proc, consoleSize: (await import('../terminal.js')).ourSize() };
  if (proc.terminal && !options.consoleSocket && !options.detach) await requireOurTerminal();
  const passFds = options.preserveFds ?? 0;
  const launchOptions = { passFds, terminal: proc.terminal ?? false, receiveTerminal: !options.detach, seccomp: spec.linux?.seccomp };
  return launch(context, options, launchOptions, async (launching) => ({
    ops: execPlan({
      id: state.id,
      bundle: state.bundle,
      spec,
      process: proc,
      container: { pid: state.pid, startTime: state.startTime },
      namespaces,
      cgroup: state.cgroup,
      host: hostFacts(),
      home: homeOf(state.rootfs, proc.user.uid),
      passFds,
      ...launching,
      setgroupsDenied: setgroupsDenied(state.pid),
      foreground: !options.detach,
      warn: context.warn,
    }),
    until: 'exec',
  }));
}

/** Whether the user namespace of the process denies setgroups (then its groups cannot be set). */
function setgroupsDenied(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, 'utf8').trim() === 'deny';
  } catch {
    return false; // gone: the exec fails on its own
  }
}
