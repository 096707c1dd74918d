/**
 * `load`: every image of an archive into the content store, under every name the archive gives
 * it, as `docker load` and `podman load` do: docker-archive (both of `docker save`'s layouts,
 * podman's and skopeo's) and oci-archive, from a file or a stream such as stdin, gzip or zstd
 * compressed or not (told by its first bytes). Manifests are kept as the archive has them (their
 * digests stay), or made for a docker-archive that has none; all of an index the archive holds
 * is loaded. Nothing is named before every blob is in the store and checked.
 */
import type { Readable } from 'node:stream';
import type { Descriptor } from '@oci/specs';
import { throwIfAborted, unlessAborted } from './abort.js';
import { ImageArchive } from './archive/image-archive.js';
import { Copier } from './copy/copy-image.js';
import { StoreDestination } from './copy/store.js';
import { ImageError, storeError } from './errors.js';
import type { ProgressListener } from './progress.js';
import { parseReference } from './reference.js';
import type { Store } from './store/layout.js';

export interface LoadOptions {
  /** The name to give the archive's one image, instead of the archive's names. */
  name?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export interface LoadedImage {
  /** Its names in the store (normalised: `busybox:latest` → `docker.io/library/busybox:latest`). */
  names: string[];
  /** The manifest (or index) the names point to. */
  descriptor: Descriptor;
}

export async function load(store: Store, input: string | Readable, options: LoadOptions = {}): Promise<LoadedImage[]> {
  const { signal, onProgress } = options;
  throwIfAborted(signal);
  try {
    return await store.lease(async () => {
      const archive = await ImageArchive.open(input, {
        spool: await store.leasePath('archive'),
        signal,
        onRead: onProgress && ((done, size) => onProgress({ type: 'read', what: archiveName(input), done, ...(size !== undefined && { size }) })),
      });
      try {
        return await loadImages(store, archive, options);
      } finally {
        await archive.close();
      }
    });
  } catch (error) {
    throw storeError(unlessAborted(error, signal), store.dir);
  }
}

async function loadImages(store: Store, archive: ImageArchive, options: LoadOptions): Promise<LoadedImage[]> {
  if (options.name !== undefined && archive.images.length !== 1)
    throw new ImageError('EIMPORT', `${archive.file.name} holds ${archive.images.length} images: a name can be given to one only`);
  const images = archive.images.map((image) => ({ image, names: options.name !== undefined ? [normalise(options.name)] : image.names }));
  const unnamed = images.find(({ names }) => names.length === 0);
  if (unnamed) throw new ImageError('EIMPORT', `image ${unnamed.image.top.descriptor.digest} in ${archive.file.name} has no name: give it one`);

  const destination = new StoreDestination(store, { pulled: new Date() });
  try {
    const copier = new Copier(archive, destination, { all: 'available', signal: options.signal, onProgress: options.onProgress });
    const loaded: LoadedImage[] = [];
    for (const { image, names } of images) {
      const copied = await copier.copy(image.top, `${archive.file.name}: ${names[0]}`);
      await destination.tag(copied, names);
      loaded.push({ names, descriptor: copied.descriptor });
    }
    await destination.commit();
    return loaded;
  } catch (error) {
    await destination.abort();
    throw error;
  }
}

function archiveName(input: string | Readable): string {
  return typeof input === 'string' ? input : '-';
}

function normalise(name: string): string {
  return parseReference(name).toString();
}
