import { print } from '../print.js';
import { containerCommand } from '../runtime.js';

export default containerCommand(
  async (runtime, id, { options }) => {
    const pids = await runtime.ps(id);
    if (options.format === 'json') {
      print(`${JSON.stringify(pids)}\n`);
      return;
    }
    const { describeProcess } = await import('@oci/runtime/processes');
    const rows = [['UID', 'PID', 'PPID', 'STAT', 'TIME', 'CMD']];
    for (const pid of pids) {
      const p = describeProcess(pid);
      if (p) rows.push([String(p.uid), String(p.pid), String(p.ppid), p.state, cpuTime(p.cpuSeconds), p.command]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    print(rows.map((r) => `${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`).join(''));
  },
  {
    options: {
      format: {
        type: 'string',
        short: 'f',
        value: 'FORMAT',
        choices: ['table', 'json'],
        describe: 'output format: a table, or a JSON array of host pids (default table)',
      },
    },
  },
);

/** As ps(1) shows it: [DD-]HH:MM:SS. */
function cpuTime(seconds: number): string {
  const two = (n: number) => String(Math.floor(n)).padStart(2, '0');
  const days = Math.floor(seconds / 86400);
  const clock = `${two((seconds % 86400) / 3600)}:${two((seconds % 3600) / 60)}:${two(seconds % 60)}`;
  return days > 0 ? `${days}-${clock}` : clock;
}
