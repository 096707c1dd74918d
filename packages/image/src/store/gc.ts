/**
 * The blobs' part of Store.gc: what it keeps (every blob that an entry of index.json reaches) and
 * the removal of the rest. It reads the store through `StoredDocuments`, so it needs no Store.
 */
import path from 'node:path';
import type { Descriptor, ImageIndex, ImageManifest } from '@oci/specs';
import { fsp } from '../fs-promises.js';
import { isIndex, isManifest } from '../media-types.js';
import { readdirIfPresent } from '../read-dir.js';

/** What gc reads of the store: index.json and the documents it reaches. */
export interface StoredDocuments {
  readIndex(): Promise<ImageIndex>;
  readJSON<T>(descriptor: Descriptor): Promise<T>;
}

/**
 * Digests reachable from index.json: indexes, manifests, configs, layers, and subjects.
 * A document that is missing or unreadable keeps what is known of it and no more.
 */
export async function reachableBlobs(store: StoredDocuments): Promise<Set<string>> {
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

/** Removes every blob under `dir`/blobs that `keep` lacks: their digests, and the bytes freed. */
export async function removeBlobsExcept(dir: string, keep: ReadonlySet<string>): Promise<{ removed: string[]; freed: number }> {
  const removed: string[] = [];
  let freed = 0;
  for (const algorithm of await readdirIfPresent(path.join(dir, 'blobs'))) {
    for (const encoded of await readdirIfPresent(path.join(dir, 'blobs', algorithm))) {
      const digest = `${algorithm}:${encoded}`;
      if (keep.has(digest)) continue;
      const file = path.join(dir, 'blobs', algorithm, encoded);
      freed += (await fsp().stat(file)).size;
      await fsp().unlink(file);
      removed.push(digest);
    }
  }
  return { removed, freed };
}
