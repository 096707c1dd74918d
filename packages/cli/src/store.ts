/** The content store the command line names, for the commands that hold images. */
import type { Store } from '@oci/image';
import type { GlobalOptions } from './command.js';
import { storeDir } from './paths.js';

/** The store of --store (else $OCI_STORE, else the default), made when missing unless the command only reads it. */
export async function openStore(globals: GlobalOptions, { create = true } = {}): Promise<Store> {
  // The module, not the package's index, which would bring the registry client into every command's bundle.
  const { Store } = await import('@oci/image/store/layout');
  return Store.open(storeDir(globals), { create });
}
