/**
 * Output of the runtime commands engines call on their hot path (`state`, `list`): one
 * synchronous write to fd 1, without creating process.stdout (whose stream modules take
 * milliseconds to load). A non-blocking stdout that is full falls back to the stream.
 */
import { writeSync } from 'node:fs';

export function print(text: string): void {
  const data = Buffer.from(text);
  let done = 0;
  try {
    while (done < data.length) done += writeSync(1, data, done);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    process.stdout.write(data.subarray(done));
  }
}
