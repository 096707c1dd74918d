import type { Runtime } from '@oci/runtime';
import { containerCommand } from '../runtime.js';

export default containerCommand(
  async (runtime, id, { options }) => {
    const bundle = bundleOf(runtime, id);
    await runtime.delete(id, { force: options.force });
    // A container `oci run IMAGE` kept (--name, -d) has its bundle and writable layer in the store: they go with it.
    if (bundle !== undefined) {
      const { readRunRecord, removeContainerBundle } = await import('@oci/runtime/image/run-record');
      if (readRunRecord(bundle)) removeContainerBundle(bundle);
    }
  },
  { options: { force: { type: 'boolean', short: 'f', describe: 'kill a running container first; succeed if it does not exist' } } },
);

function bundleOf(runtime: Runtime, id: string): string | undefined {
  try {
    return runtime.store.read(id).bundle;
  } catch {
    return undefined; // delete says what is wrong
  }
}
