/**
 * checkpoint and restore need CRIU, which this runtime does not drive: the container (or the
 * bundle) is checked as runc would, then left as it is, with an error that says so.
 */
import { loadBundle } from '../config.js';
import { RuntimeError } from '../errors.js';
import { validateId } from '../id.js';
import type { RuntimeContext } from './context.js';
import { liveState } from './lookup.js';

export async function checkpoint(context: RuntimeContext, id: string): Promise<never> {
  liveState(context, id);
  throw unsupported();
}

export async function restore({ store }: RuntimeContext, id: string, { bundle }: { bundle: string }): Promise<never> {
  validateId(id);
  loadBundle(bundle);
  if (store.ids().includes(id)) throw new RuntimeError('EEXIST', `container ${id} already exists`);
  throw unsupported();
}

const unsupported = () => new RuntimeError('EUNSUPPORTED', 'checkpoint and restore are not supported: they need CRIU, which oci does not drive');
