import { defineCommand } from '../command.js';
import { openStore } from '../store.js';

export default defineCommand({
  usage: 'IMAGE NAME',
  options: {},
  positionals: { min: 2, max: 2 },
  completes: 'image',
  uses: ['store'],
  async run({ positionals }, { globals }) {
    const { tagImage } = await import('@oci/image/images');
    const store = await openStore(globals, { create: false });
    await tagImage(store, positionals[0]!, positionals[1]!);
  },
});
