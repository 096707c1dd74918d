import { defineCommand } from '../command.js';
import { storeDir } from '../paths.js';

export default defineCommand({
  name: 'inspect',
  usage: '[options] REF',
  options: {
    platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', describe: "the platform to show when REF names a multi-platform index (default: this host's)" },
  },
  positionals: { min: 1, max: 1 },
  async run({ options, positionals }, { globals, stdout }) {
    const [{ Store }, { readImage }, { parsePlatform }] = await Promise.all([import('@oci/image/store/layout'), import('@oci/image/store/image'), import('@oci/image/platform')]);
    const store = await Store.open(storeDir(globals));
    const image = await readImage(store, positionals[0]!, ...(options.platform ? [parsePlatform(options.platform)] : []));
    stdout.write(`${JSON.stringify({ name: image.name, digest: image.descriptor.digest, mediaType: image.descriptor.mediaType, manifest: image.manifest, config: image.config }, null, 2)}\n`);
  },
});
