/**
 * Ctrl-C (SIGINT) and SIGTERM during a command that writes files (copy, save, load, import):
 * the library operation is aborted through its AbortSignal, so it removes what it had
 * half-written (an archive's temp file, blobs not yet in the store) before the command exits
 * with 128+N, as the signal would have made it. A second signal kills at once.
 */
const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

export async function interruptible<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let received: keyof typeof SIGNALS | undefined;
  const handlers = Object.keys(SIGNALS).map((name) => {
    const handler = () => {
      received = name as keyof typeof SIGNALS;
      controller.abort(new Error(`interrupted by ${name}`));
    };
    process.once(name, handler);
    return [name, handler] as const;
  });
  try {
    return await run(controller.signal);
  } catch (error) {
    if (received && error instanceof Error) Object.assign(error, { exitStatus: 128 + SIGNALS[received] });
    throw error;
  } finally {
    for (const [name, handler] of handlers) process.removeListener(name, handler);
  }
}
