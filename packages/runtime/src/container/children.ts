/**
 * The containers this process created: their first processes are our children (the helper
 * clones them with CLONE_PARENT), so we can wait for how they end, once, and reap them.
 */
import { RuntimeError } from '../errors.js';
import type { ProcessExit, ProcessHandle } from '../pidfd.js';

export class Children {
  readonly #children = new Map<string, { handle: ProcessHandle; exit: Promise<ProcessExit> | undefined }>();

  add(id: string, handle: ProcessHandle): void {
    this.#children.set(id, { handle, exit: undefined });
  }

  /** Our handle on the container's first process, if we created it. */
  handle(id: string): ProcessHandle | undefined {
    return this.#children.get(id)?.handle;
  }

  /** How the container's first process ended (resolves once it has, and reaps it). */
  async wait(id: string): Promise<ProcessExit> {
    const child = this.#children.get(id);
    if (!child) throw new RuntimeError('ESTATE', `container ${id} was not created by this process, or was waited for already`);
    child.exit ??= child.handle.wait();
    return child.exit;
  }

  /** Done with the container: reaped, or its create undone. */
  forget(id: string): void {
    this.#children.delete(id);
  }
}
