/**
 * `push`: an image from the store to a registry (distribution-spec push): for each blob, an
 * existence check (HEAD), else a cross-repository mount when the image came from another
 * repository of the same registry, else an upload (monolithic, or in chunks for big blobs when
 * `chunkSize` is set); manifests last, children of an index before the index, so the registry
 * never holds a manifest whose blobs are missing.
 */
import { Readable } from 'node:stream';
import type { Descriptor, ImageIndex, ImageManifest } from '@oci/specs';
import { throwIfAborted, unlessAborted } from './abort.js';
import { forEachConcurrent } from './concurrent.js';
import { ImageError, storeError } from './errors.js';
import { isIndex, isManifest } from './media-types.js';
import type { ProgressListener } from './progress.js';
import { parseReference, type Reference } from './reference.js';
import { RegistryClient, type RegistryOptions } from './registry/client.js';
import { type BlobReader, putManifest, uploadBlob } from './registry/uploads.js';
import type { Store } from './store/layout.js';

export interface PushOptions extends RegistryOptions {
  /** Uploads at once. Default 4. */
  concurrency?: number;
  /** Upload blobs bigger than this in chunks of this many bytes; default: every blob in one request. */
  chunkSize?: number;
  /** Repositories of the target registry that may hold the blobs already (tried for a mount). */
  mountFrom?: readonly string[];
  onProgress?: ProgressListener;
}

export interface PushResult {
  /** The reference pushed to. */
  name: string;
  descriptor: Descriptor;
}

/**
 * Pushes the store's image `source` (a name, see Store.resolveName) to `target` (default: the
 * name itself, which must then be a full reference).
 */
export async function push(store: Store, source: string, target?: string, options: PushOptions = {}): Promise<PushResult> {
  const name = await store.resolveName(source);
  const ref = parseReference(target ?? name);
  return pushDescriptor(store, await store.resolve(name), ref, { ...options, mountFrom: [...(options.mountFrom ?? []), ...sameRegistry(name, ref)] });
}

/** Pushes the manifest or index `descriptor` (and all it references) from the store to `ref`. */
export async function pushDescriptor(store: Store, descriptor: Descriptor, ref: Reference, options: PushOptions = {}): Promise<PushResult> {
  throwIfAborted(options.signal);
  const client = new RegistryClient(ref.registry, options, ref.repository);
  try {
    await pushTree(store, client, ref, descriptor, ref.tag ?? descriptor.digest, options);
    options.onProgress?.({ type: 'done', name: ref.toString(), digest: descriptor.digest });
    return { name: ref.toString(), descriptor };
  } catch (error) {
    throw storeError(unlessAborted(error, options.signal), store.dir);
  } finally {
    await client.close();
  }
}

async function pushTree(store: Store, client: RegistryClient, ref: Reference, descriptor: Descriptor, version: string, options: PushOptions): Promise<void> {
  const bytes = await store.readBlob(descriptor);
  if (isIndex(descriptor.mediaType)) {
    const index = JSON.parse(bytes.toString('utf8')) as ImageIndex;
    for (const child of index.manifests) {
      if (!(await store.hasBlob(child.digest))) throw new ImageError('ENOTFOUND', `${ref}: the index lists ${child.digest}, which the store lacks`);
      await pushTree(store, client, ref, child, child.digest, options);
    }
  } else if (isManifest(descriptor.mediaType)) {
    const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
    const blobs = [
      { descriptor: manifest.config, role: 'config' as const },
      ...manifest.layers.map((layer) => ({ descriptor: layer, role: 'layer' as const })),
    ];
    await forEachConcurrent(blobs, options.concurrency ?? 4, ({ descriptor: blob, role }) =>
      uploadBlob(client, storeReader(store, blob), ref.repository, blob, role, {
        mountFrom: options.mountFrom ?? [],
        chunkSize: options.chunkSize,
        onProgress: options.onProgress,
      }),
    );
  } else {
    throw new ImageError('EMEDIATYPE', `${ref}: ${descriptor.mediaType} is not an image manifest or index`);
  }
  await putManifest(client, ref.repository, version, descriptor, bytes);
}

/** The source repository, when the store name says it came from the target's registry: a blob there can be mounted. */
function sameRegistry(name: string, target: Reference): string[] {
  try {
    const source = parseReference(name);
    return source.registry === target.registry && source.repository !== target.repository ? [source.repository] : [];
  } catch {
    return [];
  }
}

/** The stored blob's bytes, a range at a time. */
function storeReader(store: Store, blob: Descriptor): BlobReader {
  return async (range) => {
    if (!(await store.hasBlob(blob.digest, blob.size))) throw new ImageError('ENOTFOUND', `blob ${blob.digest} is missing from the store`);
    return blob.size === 0 ? Readable.from([]) : store.openBlob(blob.digest, range);
  };
}
