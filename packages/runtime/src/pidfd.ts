/**
 * A process named by a pidfd: signals reach it and no later process that reuses its pid,
 * its exit is noticed on the event loop, and (when it is our child) its exit status is read.
 */
import { closeSync } from 'node:fs';
import { type ProcessExit, requireAddon } from '@oci/native';

export type { ProcessExit };

export class ProcessHandle {
  #exited: Promise<void> | undefined;
  /** The pending watch of `exited()`: cancelled on close, or it would keep the event loop alive. */
  #watch: number | undefined;
  #closed = false;

  private constructor(
    readonly pid: number,
    private readonly fd: number,
  ) {}

  /** A handle on pid, or undefined when no such process exists (any more). */
  static open(pid: number): ProcessHandle | undefined {
    try {
      return new ProcessHandle(pid, requireAddon().pidfdOpen(pid));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
      throw error;
    }
  }

  /** Sends a signal; false when the process has exited already. */
  signal(signal: number): boolean {
    if (this.#closed) return false; // waited for: gone
    try {
      requireAddon().pidfdSendSignal(this.fd, signal);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw error;
    }
  }

  /** Resolves once the process has exited (it may still await reaping), unless closed first. */
  exited(): Promise<void> {
    this.#exited ??= new Promise((resolve) => {
      this.#watch = requireAddon().onReadable(this.fd, () => {
        this.#watch = undefined;
        resolve();
      });
    });
    return this.#exited;
  }

  /** The exit status of our child once it exited (null before); throws ECHILD for a non-child. */
  reap(): ProcessExit | null {
    return requireAddon().reap(this.fd);
  }

  /** Waits for our child to exit, reaps it, and releases the handle. */
  async wait(): Promise<ProcessExit> {
    await this.exited();
    try {
      const exit = this.reap();
      if (!exit) throw new Error(`process ${this.pid} signalled exit but has no exit status`);
      return exit;
    } finally {
      this.close();
    }
  }

  /**
   * Lets go of our child without keeping the event loop alive for it: it is reaped if it exits
   * while this process runs (else its new parent reaps it). An exited child left unreaped in a
   * container's pid namespace keeps the namespace, and so the container's first process, from
   * ever ending.
   */
  detach(): void {
    this.#watch = requireAddon().onReadable(
      this.fd,
      () => {
        this.#watch = undefined;
        try {
          this.reap();
        } finally {
          this.close();
        }
      },
      false,
    );
  }

  /** Releases the pidfd; a pending `exited()` then never resolves. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#watch !== undefined) requireAddon().cancelReadable(this.#watch);
    closeSync(this.fd);
  }
}
