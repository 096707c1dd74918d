import { existsSync } from 'node:fs';
import { defineCommand } from '../command.js';
import { storeDir } from '../paths.js';
import { print } from '../print.js';
import { withProgress } from '../progress.js';
import { registryOptions, toRegistryOptions } from '../registry-options.js';

export default defineCommand({
  name: 'pull',
  usage: '[options] REF',
  options: {
    platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', describe: "the platform to take from a multi-platform image (default: this host's)" },
    ...registryOptions,
  },
  positionals: { min: 1, max: 1 },
  uses: ['store'],
  async run({ options, positionals }, context) {
    // The modules pull needs, not the whole library (layers, imports): `oci pull` starts faster.
    const [{ Store }, { pull }, { parsePlatform }, { SnapshotLayout }] = await Promise.all([
      import('@oci/image/store/layout'),
      import('@oci/image/pull'),
      import('@oci/image/platform'),
      import('@oci/image/snapshot/layout'),
    ]);
    const store = await Store.open(storeDir(context.globals), { create: true });
    const result = await withProgress(options, context, (onProgress) =>
      pull(store, positionals[0]!, {
        ...toRegistryOptions(options, context),
        ...(options.platform && { platform: parsePlatform(options.platform) }),
        // A store whose images are run from snapshots gets the new image's as it downloads.
        snapshots: existsSync(new SnapshotLayout(store.dir).root),
        onProgress,
      }),
    );
    if (options.format !== 'json') print(`${result.descriptor.digest}\n`);
  },
});
