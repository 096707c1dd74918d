/**
 * `save`: images of the content store into one archive, as `docker save` and `podman save` write
 * them (archive/archive-writer.ts): a docker-archive (the default) or an oci-archive, to a file
 * (written beside it, renamed into place whole) or a stream such as stdout, gzip-compressed on
 * request. Each image is saved as the store holds it, its digests unchanged; from an index, the
 * platform's image. Blobs the images share are written once.
 */
import type { Writable } from 'node:stream';
import type { Descriptor, Platform } from '@oci/specs';
import { throwIfAborted, unlessAborted } from './abort.js';
import { ArchiveDestination, type ArchiveFormat } from './archive/archive-writer.js';
import { Copier } from './copy/copy-image.js';
import { StoreSource, storedImage } from './copy/store.js';
import type { ProgressListener } from './progress.js';
import type { Store } from './store/layout.js';

export interface SaveOptions {
  /** Default docker-archive. */
  format?: ArchiveFormat;
  /** gzip the archive. */
  compress?: boolean;
  /** The platform to take from an image that is an index; default this host's. */
  platform?: Platform;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export interface SavedImage {
  /** The name in the store, and in the archive. */
  name: string;
  descriptor: Descriptor;
}

/** Saves the store's images `names` (see Store.resolveName) into one archive written to `to`. */
export async function save(store: Store, names: readonly string[], to: string | Writable, options: SaveOptions = {}): Promise<SavedImage[]> {
  const { signal } = options;
  throwIfAborted(signal);
  // Every name is found before the archive is begun: a mistyped one writes nothing.
  const images = await Promise.all(
    [...new Set(await Promise.all(names.map((name) => store.resolveName(name))))].map(async (name) => ({ name, ...(await storedImage(store, name)) })),
  );
  const archive = await ArchiveDestination.create(options.format ?? 'docker-archive', { to, compress: options.compress });
  try {
    const copier = new Copier(new StoreSource(store), archive, { platform: options.platform, signal, onProgress: options.onProgress });
    const saved: SavedImage[] = [];
    for (const { name, top } of images) {
      const copied = await copier.copy(top, name);
      await archive.tag(copied, [name]);
      saved.push({ name, descriptor: copied.descriptor });
    }
    await archive.commit();
    return saved;
  } catch (error) {
    await archive.abort();
    throw unlessAborted(error, signal);
  }
}
