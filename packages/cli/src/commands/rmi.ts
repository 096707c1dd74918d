import { defineCommand } from '../command.js';
import { openStore } from '../store.js';

export default defineCommand({
  usage: 'REF...',
  options: {},
  positionals: { min: 1, max: Infinity },
  completes: 'image',
  uses: ['store'],
  async run({ positionals }, { globals, stdout }) {
    const { removeImage } = await import('@oci/image/images');
    const store = await openStore(globals, { create: false });
    for (const ref of positionals) stdout.write(`removed ${await removeImage(store, ref)}\n`);
  },
});
