/**
 * Cancelling the long operations (pull, push, unpack, copy, save, load) with an AbortSignal.
 * An aborted operation leaves nothing half-written (the same guarantees as any failure: temp
 * files removed, nothing named in the store) and rejects with an ImageError whose `code` is
 * `EABORTED` and whose `name` is `'AbortError'`, with the signal's reason as its `cause`: what
 * Node's own APIs throw (fs, streams, timers/promises), so `error.name === 'AbortError'` works as
 * it does for them, and `error.code` as for every other error of this library.
 */
import { ImageError } from './errors.js';

export function abortError(signal: AbortSignal): ImageError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : '';
  const error = new ImageError('EABORTED', `aborted${why}`, { cause: reason });
  error.name = 'AbortError';
  return error;
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * What a failed operation reports: the abort when its signal fired (whatever the abort broke
 * on its way out, a reset connection or a closed stream, is only its consequence), else `error`.
 */
export function unlessAborted(error: unknown, signal: AbortSignal | undefined): unknown {
  return signal?.aborted ? abortError(signal) : error;
}

/** A pause that ends early, with the abort, when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
