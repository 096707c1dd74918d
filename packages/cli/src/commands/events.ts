import { UsageError } from '../args.js';
import { defineCommand } from '../command.js';
import { print } from '../print.js';
import { openRuntime } from '../runtime.js';
import { parseDuration } from '../units.js';

export default defineCommand({
  name: 'events',
  summary: "print a container's stats at an interval and its OOM events, as JSON lines, until it stops",
  usage: '[options] ID',
  options: {
    stats: { type: 'boolean', describe: 'print the stats once and exit' },
    interval: { type: 'string', value: 'DURATION', describe: 'time between stats (default 5s; 100ms, 1m…)' },
  },
  positionals: { min: 1, max: 1 },
  async run({ options, positionals }, context) {
    const interval = parseDuration(options.interval ?? '5s');
    if (interval === undefined) throw new UsageError(`--interval needs a duration like 5s or 100ms (got '${options.interval}')`, 'events');
    const { formatEvent } = await import('@oci/runtime');
    const runtime = await openRuntime(context);
    const id = positionals[0]!;
    if (options.stats) {
      print(`${formatEvent({ type: 'stats', id, data: await runtime.stats(id) })}\n`);
      return;
    }
    for await (const event of runtime.events(id, { interval })) context.stdout.write(`${formatEvent(event)}\n`);
  },
});
