import { defineCommand } from '../command.js';
import { print } from '../print.js';
import { openRuntime } from '../runtime.js';
import { table } from '../table.js';

export default defineCommand({
  usage: '[options]',
  options: {
    format: { type: 'string', short: 'f', value: 'FORMAT', choices: ['table', 'json'], describe: 'output format (default table)' },
    quiet: { type: 'boolean', short: 'q', describe: 'print only the ids' },
  },
  positionals: { min: 0, max: 0 },
  uses: ['runtime'],
  async run({ options }, context) {
    const states = await (await openRuntime(context)).list();
    if (options.quiet) {
      print(states.map((s) => `${s.id}\n`).join(''));
    } else if (options.format === 'json') {
      print(`${JSON.stringify(states)}\n`);
    } else {
      const rows = [
        ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
        ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner || 'root']),
      ];
      print(table(rows, 3));
    }
  },
});
