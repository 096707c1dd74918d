import { transferCommand } from '../registry-options.js';
import { openStore } from '../store.js';

export default transferCommand(
  {
    usage: '[options] REF [TARGET]',
    options: {
      'chunk-size': { type: 'number', value: 'BYTES', describe: 'upload blobs bigger than this in chunks of this size (default: in one request)' },
    },
    positionals: { min: 1, max: 2 },
    completes: 'image',
  },
  async ({ options, positionals }, registry, context) => {
    const { push } = await import('@oci/image/push');
    const store = await openStore(context.globals, { create: false });
    return push(store, positionals[0]!, positionals[1], {
      ...registry,
      ...(options['chunk-size'] !== undefined && { chunkSize: options['chunk-size'] }),
    });
  },
);
