/** run: create, start, wait and delete, the program in our foreground; or create and start, detached. */
import { exitStatus, inForeground } from '../foreground.js';
import type { RuntimeContext } from './context.js';
import { type CreateOptions, create, type ForegroundOptions } from './create.js';
import { deleteContainer } from './delete.js';
import { start } from './start.js';

export interface RunOptions extends CreateOptions, Pick<ForegroundOptions, 'onCreated'> {
  /** Return once the program started, leaving the container running (`run -d`). */
  detach?: boolean;
  /** Leave the container, stopped, for `delete` once the program ended (`oci run --name`). */
  keep?: boolean;
}

export async function run(context: RuntimeContext, id: string, options: RunOptions): Promise<number> {
  if (options.detach) {
    await create(context, id, options);
    await start(context, id).catch(async (error: unknown) => {
      await deleteContainer(context, id, { force: true });
      throw error;
    });
    return 0;
  }
  const container = await create(context, id, { ...options, receiveTerminal: true, foreground: true });
  try {
    const exit = await inForeground(container.pid, container.terminal, async () => {
      await start(context, id);
      return container.wait();
    });
    return exitStatus(exit);
  } finally {
    if (!options.keep) await deleteContainer(context, id, { force: true });
  }
}
