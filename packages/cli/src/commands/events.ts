import { writeSync } from 'node:fs';
import { setTimeout } from 'node:timers/promises';
import { UsageError } from '../args.js';
import { print } from '../print.js';
import { containerCommand } from '../runtime.js';
import { parseDuration } from '../units.js';

export default containerCommand(
  async (runtime, id, { options }) => {
    const interval = parseDuration(options.interval ?? '5s');
    if (interval === undefined) throw new UsageError(`--interval needs a duration like 5s or 100ms (got '${options.interval}')`, 'events');
    const { formatEvent } = await import('@oci/runtime/events');
    if (options.stats) {
      print(`${formatEvent({ type: 'stats', id, data: await runtime.stats(id) })}\n`);
      return;
    }
    for await (const event of runtime.events(id, { interval })) if (!(await writeLine(`${formatEvent(event)}\n`))) break;
  },
  {
    options: {
      stats: { type: 'boolean', describe: 'print the stats once and exit' },
      interval: { type: 'string', value: 'DURATION', describe: 'time between stats (default 5s; 100ms, 1m…)' },
    },
  },
);

/**
 * Writes a line to stdout; false once the reader has gone (`oci events | head -1`), which ends
 * the stream quietly. A pipe says so with EPIPE, a socket (what Node's spawn gives as stdio)
 * with EPIPE or ECONNRESET.
 */
async function writeLine(text: string): Promise<boolean> {
  const data = Buffer.from(text);
  for (let done = 0; done < data.length; ) {
    try {
      done += writeSync(1, data, done);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EPIPE' || code === 'ECONNRESET') return false;
      if (code !== 'EAGAIN') throw error;
      await setTimeout(10); // a full non-blocking pipe: its reader is slow
    }
  }
  return true;
}
