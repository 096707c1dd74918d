import { defineCommand } from '../command.js';
import { openStore } from '../store.js';

export default defineCommand({
  usage: '[options]',
  options: {
    quiet: { type: 'boolean', short: 'q', describe: 'print nothing' },
  },
  positionals: { min: 0, max: 0 },
  uses: ['store'],
  async run({ options }, { globals, stdout }) {
    const store = await openStore(globals);
    const { removed, snapshots, freed } = await store.gc();
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    if (!options.quiet) stdout.write(`removed ${count(removed.length, 'blob')} and ${count(snapshots.length, 'snapshot')}, ${(freed / 1e6).toFixed(1)} MB\n`);
  },
});
