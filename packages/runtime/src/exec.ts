/** What `exec` starts: a whole process (--process F), or the container's own with changes (runc exec's flags). */
import type { Process } from '@oci/specs';

/** Changes to the container's own process (config.json's), as runc exec's flags make them. */
export interface ProcessChanges {
  /** The program and its arguments. */
  args: readonly string[];
  cwd?: string;
  /** Added to the environment (a later NAME= wins over an earlier one). */
  env?: readonly string[];
  uid?: number;
  gid?: number;
  additionalGids?: readonly number[];
  /** Added to the bounding, effective and permitted sets, and to the ambient one when the
      process has inheritable capabilities (the kernel refuses an ambient one otherwise). */
  capabilities?: readonly string[];
  /** A terminal: off unless asked for, whatever config.json says (as in runc). */
  tty?: boolean;
  noNewPrivileges?: boolean;
}

export interface ExecOptions {
  /** The whole process to start (runtime-spec `process`, what `exec --process F` reads)… */
  process?: Process;
  /** …or the container's own process with these changes. */
  changes?: ProcessChanges;
  /** Written with the program's pid (host), as engines expect. */
  pidFile?: string;
  /** A listening unix socket to send the terminal's master to. */
  consoleSocket?: string;
  /** Return once the program runs, rather than wait for it. */
  detach?: boolean;
  /** This process's fds 3…3+n-1 go to the program at the same numbers. */
  preserveFds?: number;
  /** The program's stdin, stdout, stderr as fds of this process; its own 0, 1, 2 by default. */
  stdio?: readonly [number, number, number];
}

export function withChanges(base: Process, changes: ProcessChanges): Process {
  const process: Process = structuredClone(base);
  process.args = [...changes.args];
  if (changes.cwd) process.cwd = changes.cwd;
  process.env = [...(process.env ?? []), ...(changes.env ?? [])];
  process.terminal = changes.tty ?? false;
  if (changes.noNewPrivileges !== undefined) process.noNewPrivileges = changes.noNewPrivileges;
  if (changes.uid !== undefined) process.user.uid = changes.uid;
  if (changes.gid !== undefined) process.user.gid = changes.gid;
  if (changes.additionalGids?.length) process.user.additionalGids = [...(process.user.additionalGids ?? []), ...changes.additionalGids];
  const added = changes.capabilities ?? [];
  if (added.length > 0) {
    const caps = (process.capabilities ??= {});
    for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), ...added];
    if (caps.inheritable?.length) caps.ambient = [...(caps.ambient ?? []), ...added];
  }
  return process;
}
