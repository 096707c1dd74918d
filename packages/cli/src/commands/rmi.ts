import { defineCommand } from '../command.js';
import { storeDir } from '../paths.js';

export default defineCommand({
  name: 'rmi',
  usage: 'REF...',
  options: {},
  positionals: { min: 1, max: Infinity },
  completes: 'image',
  uses: ['store'],
  async run({ positionals }, { globals, stdout }) {
    const [{ Store }, { removeImage }] = await Promise.all([import('@oci/image/store/layout'), import('@oci/image/images')]);
    const store = await Store.open(storeDir(globals));
    for (const ref of positionals) stdout.write(`removed ${await removeImage(store, ref)}\n`);
  },
});
