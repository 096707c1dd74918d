import { defineCommand } from '../command.js';
import { interruptible } from '../interrupt.js';
import { storeDir } from '../paths.js';
import { print } from '../print.js';
import { withProgress } from '../progress.js';
import { registryOptions, toRegistryOptions } from '../registry-options.js';

export default defineCommand({
  name: 'copy',
  usage: '[options] SOURCE DESTINATION',
  options: {
    all: { type: 'boolean', short: 'a', describe: 'copy every platform of a multi-platform image, and its index (digest unchanged)' },
    platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', describe: "the platform to take from a multi-platform image (default: this host's)" },
    'src-creds': { type: 'string', value: 'USER:PASS', describe: "credentials for the source's registry (default: --creds, else ~/.docker/config.json)" },
    'dest-creds': { type: 'string', value: 'USER:PASS', describe: "credentials for the destination's registry (default: --creds, else ~/.docker/config.json)" },
    ...registryOptions,
  },
  positionals: { min: 2, max: 2 },
  completes: 'image',
  uses: ['store'],
  async run({ options, positionals }, context) {
    const [{ Store }, { copy }, { parseLocation }, { parsePlatform }] = await Promise.all([
      import('@oci/image/store/layout'),
      import('@oci/image/copy'),
      import('@oci/image/copy/locations'),
      import('@oci/image/platform'),
    ]);
    const [from, to] = positionals as [string, string];
    // Only a name without a transport is in the content store: `docker://` to `oci:` needs none.
    const inStore = [from, to].some((location) => parseLocation(location).transport === 'store');
    const store = inStore ? await Store.open(storeDir(context.globals), { create: true }) : undefined;
    const result = await withProgress(options, context, (onProgress) =>
      interruptible((signal) =>
        copy(from, to, {
          ...toRegistryOptions(options, context),
          ...(store && { store }),
          ...(options.all && { all: true }),
          ...(options.platform && { platform: parsePlatform(options.platform) }),
          ...(options['src-creds'] !== undefined && { sourceCreds: options['src-creds'] }),
          ...(options['dest-creds'] !== undefined && { destinationCreds: options['dest-creds'] }),
          signal,
          onProgress,
        }),
      ),
    );
    if (options.format !== 'json') print(`${result.descriptor.digest}\n`);
  },
});
