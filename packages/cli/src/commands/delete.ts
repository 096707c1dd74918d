import { defineCommand } from '../command.js';
import { openRuntime } from '../runtime.js';

export default defineCommand({
  name: 'delete',
  usage: '[options] ID',
  options: {
    force: { type: 'boolean', short: 'f', describe: 'kill a running container first; succeed if it does not exist' },
  },
  positionals: { min: 1, max: 1 },
  completes: 'container',
  uses: ['runtime'],
  async run({ options, positionals }, context) {
    const runtime = await openRuntime(context);
    const id = positionals[0]!;
    const bundle = bundleOf(runtime, id);
    await runtime.delete(id, { force: options.force });
    // A container `oci run IMAGE` kept (--name, -d) has its bundle and writable layer in the store: they go with it.
    if (bundle !== undefined) {
      const { readRunRecord, removeContainerBundle } = await import('@oci/runtime/image/run-record');
      if (readRunRecord(bundle)) removeContainerBundle(bundle);
    }
  },
});

function bundleOf(runtime: Awaited<ReturnType<typeof openRuntime>>, id: string): string | undefined {
  try {
    return runtime.store.read(id).bundle;
  } catch {
    return undefined; // delete says what is wrong
  }
}
