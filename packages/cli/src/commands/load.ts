import { defineCommand } from '../command.js';
import { interruptible } from '../interrupt.js';
import { isTerminal, withProgress } from '../progress.js';
import { openStore } from '../store.js';

export default defineCommand({
  usage: '[options]',
  options: {
    input: {
      type: 'string',
      short: 'i',
      value: 'FILE',
      describe: 'read the archive from FILE (default: stdin): docker-archive or oci-archive, gzip or zstd compressed or not',
    },
    quiet: { type: 'boolean', short: 'q', describe: 'draw no progress' },
  },
  positionals: { min: 0, max: 0 },
  uses: ['store'],
  async run({ options }, context) {
    const { load } = await import('@oci/image/load');
    const store = await openStore(context.globals);
    const fromStdin = options.input === undefined || options.input === '-';
    if (fromStdin && (await isTerminal(0))) throw new Error('no archive: give -i FILE, or pipe one into stdin');
    const input = fromStdin ? process.stdin : options.input!;
    const loaded = await withProgress({ quiet: options.quiet }, context, (onProgress) => interruptible((signal) => load(store, input, { signal, onProgress })));
    // As docker load and podman load say it: scripts read these lines.
    for (const image of loaded) for (const name of image.names) context.stdout.write(`Loaded image: ${name}\n`);
  },
});
