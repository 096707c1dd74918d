/** A process as `oci ps` shows it, read from /proc (runc runs ps(1); a runtime runs nothing). */
import { readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Real uid, as the host sees it. */
  uid: number;
  /** R, S, D, Z, T… */
  state: string;
  /** User and system CPU time. */
  cpuSeconds: number;
  /** Its command line, or [name] when it has none (a kernel thread, a zombie). */
  command: string;
}

/** USER_HZ: clock ticks per second in /proc/PID/stat, 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** The process, or undefined once it is gone. */
export function describeProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    // Fields after the name in parentheses, from the third (state) on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return {
      pid,
      ppid: Number(fields[1]),
      uid: Number(uid),
      state: fields[0]!,
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
      command: argv.length > 0 ? argv.join(' ') : `[${name}]`,
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw error;
  }
}
