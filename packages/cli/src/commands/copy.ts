import { interruptible } from '../interrupt.js';
import { transferCommand } from '../registry-options.js';
import { openStore } from '../store.js';

export default transferCommand(
  {
    usage: '[options] SOURCE DESTINATION',
    options: {
      all: { type: 'boolean', short: 'a', describe: 'copy every platform of a multi-platform image, and its index (digest unchanged)' },
      platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', describe: "the platform to take from a multi-platform image (default: this host's)" },
      'src-creds': { type: 'string', value: 'USER:PASS', describe: "credentials for the source's registry (default: --creds, else ~/.docker/config.json)" },
      'dest-creds': {
        type: 'string',
        value: 'USER:PASS',
        describe: "credentials for the destination's registry (default: --creds, else ~/.docker/config.json)",
      },
    },
    positionals: { min: 2, max: 2 },
    completes: 'image',
  },
  async ({ options, positionals }, registry, context) => {
    const [{ copy }, { parseLocation }, { parsePlatform }] = await Promise.all([
      import('@oci/image/copy'),
      import('@oci/image/copy/locations'),
      import('@oci/image/platform'),
    ]);
    const [from, to] = positionals as [string, string];
    // Only a name without a transport is in the content store: `docker://` to `oci:` needs none.
    const inStore = [from, to].some((location) => parseLocation(location).transport === 'store');
    const store = inStore ? await openStore(context.globals) : undefined;
    return interruptible((signal) =>
      copy(from, to, {
        ...registry,
        ...(store && { store }),
        ...(options.all && { all: true }),
        ...(options.platform && { platform: parsePlatform(options.platform) }),
        ...(options['src-creds'] !== undefined && { sourceCreds: options['src-creds'] }),
        ...(options['dest-creds'] !== undefined && { destinationCreds: options['dest-creds'] }),
        signal,
      }),
    );
  },
);
