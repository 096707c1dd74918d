import { defineCommand } from '../command.js';
import { storeDir } from '../paths.js';

export default defineCommand({
  name: 'tag',
  usage: 'IMAGE NAME',
  options: {},
  positionals: { min: 2, max: 2 },
  completes: 'image',
  uses: ['store'],
  async run({ positionals }, { globals }) {
    const [{ Store }, { tagImage }] = await Promise.all([import('@oci/image/store/layout'), import('@oci/image/images')]);
    const store = await Store.open(storeDir(globals));
    await tagImage(store, positionals[0]!, positionals[1]!);
  },
});
