import { defineCommand } from '../command.js';
import { openStore } from '../store.js';
import { megabytes, table } from '../table.js';

export default defineCommand({
  usage: '[options]',
  options: {
    format: { type: 'string', value: 'FORMAT', choices: ['table', 'json'], describe: 'table (default) or json' },
  },
  positionals: { min: 0, max: 0 },
  uses: ['store'],
  async run({ options }, { globals, stdout }) {
    const { listSnapshots } = await import('@oci/image/snapshot/list');
    const snapshots = await listSnapshots(await openStore(globals));
    if (options.format === 'json') {
      stdout.write(`${JSON.stringify(snapshots, null, 2)}\n`);
      return;
    }
    const rows = [
      ['CHAIN ID', 'SIZE', 'IMAGES', 'BUNDLES'],
      ...snapshots.map((s) => [s.chainId.slice(7, 19), megabytes(s.size), s.images.join(',') || '-', String(s.bundles.length)]),
    ];
    stdout.write(table(rows));
    const total = snapshots.reduce((sum, s) => sum + s.size, 0);
    stdout.write(`${snapshots.length} snapshot${snapshots.length === 1 ? '' : 's'}, ${megabytes(total)} on disk\n`);
  },
});
