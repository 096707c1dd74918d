/**
 * The foreground side of a container's terminal (`oci run` with process.terminal): this
 * process's stdin goes to the pty master, the master's output to stdout, our terminal is put
 * in raw mode (the container's pty does the line discipline, so output is translated once, not
 * twice) and the pty's size follows ours.
 */
import { closeSync, openSync } from 'node:fs';
import { isatty, ReadStream } from 'node:tty';
import { requireAddon } from '@oci/native';

export interface AttachedTerminal {
  /** Resolves once the container side closed (every process holding the pty exited). */
  readonly drained: Promise<void>;
  /** Restores our terminal and stops forwarding. */
  detach(): void;
}

/** A terminal of ours: the first of stderr, stdout and stdin that is one, else /dev/tty (runc's order). */
export function ourTerminal(): { fd: number; close(): void } | undefined {
  const standard = [2, 1, 0].find((fd) => isatty(fd));
  if (standard !== undefined) return { fd: standard, close: () => {} };
  try {
    const fd = openSync('/dev/tty', 'r');
    return { fd, close: () => closeSync(fd) };
  } catch {
    return undefined;
  }
}

/** Puts our terminal in raw mode; returns how to restore it. Without one there is nothing to do. */
function rawControllingTerminal(): () => void {
  const { makeRaw, restoreTerminal } = requireAddon();
  const terminal = ourTerminal();
  if (!terminal) return () => {};
  const saved = makeRaw(terminal.fd);
  return () => {
    restoreTerminal(terminal.fd, saved);
    terminal.close();
  };
}

export function attachTerminal(master: number, stdin: NodeJS.ReadStream = process.stdin, stdout: NodeJS.WriteStream = process.stdout): AttachedTerminal {
  const pty = new ReadStream(master);
  const drained = new Promise<void>((resolve) => {
    pty.on('data', (chunk: Buffer) => stdout.write(chunk));
    // A pty master reads EIO once the last holder of the slave closed it: the end of output.
    pty.once('error', () => resolve());
    pty.once('close', () => resolve());
  });
  const resize = () => {
    if (stdout.isTTY) requireAddon().setWindowSize(master, stdout.rows, stdout.columns);
  };
  resize();
  stdout.on('resize', resize);
  const forward = (chunk: Buffer) => pty.write(chunk);
  stdin.on('data', forward);
  const restore = rawControllingTerminal();
  let detached = false;
  return {
    drained,
    detach() {
      if (detached) return;
      detached = true;
      stdin.off('data', forward);
      stdin.pause();
      restore();
      stdout.off('resize', resize);
      pty.destroy();
    },
  };
}

/** The size of our terminal (stdout's), if it is one. */
export function ourSize(stdout: NodeJS.WriteStream = process.stdout): { height: number; width: number } | undefined {
  return stdout.isTTY ? { height: stdout.rows, width: stdout.columns } : undefined;
}
