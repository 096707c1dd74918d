import { defineCommand } from '../command.js';
import { interruptible } from '../interrupt.js';
import { isTerminal, withProgress } from '../progress.js';
import { openStore } from '../store.js';

export default defineCommand({
  usage: '[options] IMAGE [IMAGE…]',
  options: {
    output: { type: 'string', short: 'o', value: 'FILE', describe: 'write the archive to FILE (default: stdout, unless it is a terminal)' },
    format: {
      type: 'string',
      value: 'FORMAT',
      choices: ['docker-archive', 'oci-archive'],
      describe: 'docker-archive (default: what docker load and podman load read) or oci-archive',
    },
    compress: { type: 'boolean', describe: 'gzip the archive (the default when FILE ends in .gz or .tgz)' },
    platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', describe: "the platform to take from a multi-platform image (default: this host's)" },
    quiet: { type: 'boolean', short: 'q', describe: 'draw no progress' },
  },
  positionals: { min: 1, max: Infinity },
  completes: 'image',
  uses: ['store'],
  async run({ options, positionals }, context) {
    const [{ save }, { parsePlatform }] = await Promise.all([import('@oci/image/save'), import('@oci/image/platform')]);
    const toStdout = options.output === undefined || options.output === '-';
    // As docker save: an archive is no thing to print on a terminal.
    if (toStdout && (await isTerminal(1))) throw new Error('cowardly refusing to write an archive to a terminal: use -o FILE or redirect stdout');
    const store = await openStore(context.globals, { create: false });
    await withProgress({ quiet: options.quiet }, context, (onProgress) =>
      interruptible((signal) =>
        save(store, positionals, toStdout ? context.stdout : options.output!, {
          ...(options.format && { format: options.format as 'docker-archive' | 'oci-archive' }),
          compress: options.compress ?? (!toStdout && /\.(gz|tgz)$/.test(options.output!)),
          ...(options.platform && { platform: parsePlatform(options.platform) }),
          signal,
          onProgress,
        }),
      ),
    );
  },
});
