import { existsSync } from 'node:fs';
import { transferCommand } from '../registry-options.js';
import { openStore } from '../store.js';

export default transferCommand(
  {
    usage: '[options] REF',
    options: {
      platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', describe: "the platform to take from a multi-platform image (default: this host's)" },
    },
    positionals: { min: 1, max: 1 },
  },
  async ({ options, positionals }, registry, context) => {
    // The modules pull needs, not the whole library (layers, imports): `oci pull` starts faster.
    const [{ pull }, { parsePlatform }, { SnapshotLayout }] = await Promise.all([
      import('@oci/image/pull'),
      import('@oci/image/platform'),
      import('@oci/image/snapshot/layout'),
    ]);
    const store = await openStore(context.globals);
    return pull(store, positionals[0]!, {
      ...registry,
      ...(options.platform && { platform: parsePlatform(options.platform) }),
      // A store whose images are run from snapshots gets the new image's as it downloads.
      snapshots: existsSync(new SnapshotLayout(store.dir).root),
    });
  },
);
