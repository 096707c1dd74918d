/**
 * A program in the foreground (`oci run`, `oci exec` without --detach): our signals are passed
 * on to it, as runc does (SIGWINCH becomes a resize of its terminal), its terminal, when it has
 * one, is proxied to ours, and the result is how it ended.
 */
import type { ProcessExit } from './pidfd.js';

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGTERM',
  'SIGUSR1',
  'SIGUSR2',
  'SIGALRM',
  'SIGCONT',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
];

/**
 * Runs `until` (which starts the program if need be and resolves with how it ended) with the
 * program `pid` in the foreground; `terminal` is the master of its pty.
 */
export async function inForeground(pid: number, terminal: number | undefined, until: () => Promise<ProcessExit>): Promise<ProcessExit> {
  const forward = (signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      // it has exited: `until` resolves next
    }
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  // Loaded only for a terminal: node:tty costs milliseconds to load.
  const attached = terminal === undefined ? undefined : (await import('./terminal.js')).attachTerminal(terminal);
  try {
    const exit = await until();
    await attached?.drained;
    return exit;
  } finally {
    attached?.detach();
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
  }
}

/** A shell's exit status for how a program ended: its code, or 128+N when signal N killed it. */
export function exitStatus(exit: ProcessExit): number {
  return exit.code ?? 128 + exit.signal!;
}
