import { defineCommand } from '../command.js';
import { storeDir } from '../paths.js';
import { print } from '../print.js';
import { withProgress } from '../progress.js';
import { registryOptions, toRegistryOptions } from '../registry-options.js';

export default defineCommand({
  name: 'push',
  usage: '[options] REF [TARGET]',
  options: {
    'chunk-size': { type: 'number', value: 'BYTES', describe: 'upload blobs bigger than this in chunks of this size (default: in one request)' },
    ...registryOptions,
  },
  positionals: { min: 1, max: 2 },
  completes: 'image',
  uses: ['store'],
  async run({ options, positionals }, context) {
    const [{ Store }, { push }] = await Promise.all([import('@oci/image/store/layout'), import('@oci/image/push')]);
    const store = await Store.open(storeDir(context.globals));
    const result = await withProgress(options, context, (onProgress) =>
      push(store, positionals[0]!, positionals[1], {
        ...toRegistryOptions(options, context),
        ...(options['chunk-size'] !== undefined && { chunkSize: options['chunk-size'] }),
        onProgress,
      }),
    );
    if (options.format !== 'json') print(`${result.descriptor.digest}\n`);
  },
});
