/** What garbage collection keeps: every blob that a named image in index.json reaches. */
import type { Descriptor, ImageIndex, ImageManifest } from '@oci/spec';
import { isIndex, isManifest } from '../media-types.js';
import type { Store } from './layout.js';

/**
 * Digests reachable from index.json: indexes, manifests, configs, layers, and subjects.
 * A document that is missing or unreadable keeps what is known of it and no more.
 */
export async function reachableBlobs(store: Store): Promise<Set<string>> {
  const seen = new Set<string>();
  const visit = async (descriptor: Descriptor): Promise<void> => {
    if (seen.has(descriptor.digest)) return;
    seen.add(descriptor.digest);
    if (!isIndex(descriptor.mediaType) && !isManifest(descriptor.mediaType)) return;
    let document: Partial<Record<keyof (ImageIndex & ImageManifest), unknown>> | null;
    try {
      document = await store.readJSON(descriptor);
    } catch {
      return;
    }
    // Not checked whole (as readImage does): what is well-formed in a damaged document is kept.
    if (typeof document !== 'object' || document === null) return;
    const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
    const children = [...list(document.manifests), document.config, ...list(document.layers), document.subject] as (Partial<Descriptor> | null | undefined)[];
    for (const child of children) if (typeof child?.digest === 'string') await visit(child as Descriptor);
  };
  for (const descriptor of (await store.readIndex()).manifests) await visit(descriptor);
  return seen;
}
