/**
 * Copying an image from a source to a destination (types.ts), as skopeo copies: the manifest
 * is kept byte for byte (its digest, and the digests of everything it names, do not change)
 * wherever the destination holds its media type (a Docker one becomes an OCI one in an OCI
 * layout skopeo reads, convert.ts), blobs stream from one side to the other and are checked
 * against their descriptors on the way in, blobs the destination has are skipped, and
 * manifests go after the blobs they name (children before their index). From an index, the
 * manifest for one platform is copied, or with `all` the index itself and every platform's
 * image under it.
 */
import { addAbortSignal, type Readable, Transform } from 'node:stream';
import type { Descriptor, ImageIndex, ImageManifest, Platform } from '@oci/specs';
import { throwIfAborted } from '../abort.js';
import { forEachConcurrent } from '../concurrent.js';
import { parseManifest } from '../documents.js';
import { ImageError } from '../errors.js';
import { isIndex } from '../media-types.js';
import { formatPlatform, hostPlatform, selectPlatform } from '../platform.js';
import type { ProgressListener } from '../progress.js';
import { toOciIndex, toOciManifest } from './convert.js';
import type { ContentSource, ImageDestination, Manifest } from './types.js';

export interface CopyImageOptions {
  /**
   * From an index: false (default), the image for `platform` only; true, the index and every
   * image it lists; 'available', the index and the images of it the source holds (an archive
   * `docker save` wrote from a multi-platform image holds this host's only).
   */
  all?: boolean | 'available';
  /** The platform to take from an index when not `all`; default this host's. */
  platform?: Platform;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/**
 * Copies images from `source` into `destination` (which is not committed). Blobs shared by the
 * images of one Copier are copied once.
 */
export class Copier {
  readonly #blobs = new Map<string, Promise<void>>();

  constructor(
    private readonly source: ContentSource,
    private readonly destination: ImageDestination,
    private readonly options: CopyImageOptions = {},
  ) {}

  /**
   * Copies `top` (named `what` in messages); returns what the destination holds now: `top`, or
   * the platform's manifest from it (either converted when the destination keeps OCI types only).
   */
  async copy(top: Manifest, what: string): Promise<Manifest> {
    throwIfAborted(this.options.signal);
    if (!isIndex(top.descriptor.mediaType)) return this.#image(top, what);
    const index = parseManifest(top.bytes, top.descriptor.mediaType, what) as ImageIndex;
    if (!this.options.all) {
      const chosen = selectPlatform(index.manifests, this.options.platform ?? hostPlatform(), what);
      const descriptor: Descriptor = {
        mediaType: chosen.mediaType,
        digest: chosen.digest,
        size: chosen.size,
        ...(chosen.platform && { platform: chosen.platform }),
      };
      return this.copy({ descriptor, bytes: await this.source.manifest(chosen) }, `${what}@${chosen.digest}`);
    }
    if (!this.destination.keepsIndexes)
      throw new ImageError('EMEDIATYPE', `${what} is a multi-platform index, which a docker-archive cannot hold: copy one platform`);
    const stored = new Map<string, Descriptor>();
    for (const child of index.manifests) {
      const childWhat = `${what}@${child.digest}${child.platform ? ` (${formatPlatform(child.platform)})` : ''}`;
      let bytes: Buffer;
      try {
        bytes = await this.source.manifest(child);
      } catch (error) {
        if (this.options.all === 'available' && error instanceof ImageError && error.code === 'ENOTFOUND') continue;
        throw error;
      }
      stored.set(child.digest, (await this.copy({ descriptor: child, bytes }, childWhat)).descriptor);
    }
    if (stored.size === 0) throw new ImageError('ENOTFOUND', `${what}: none of the images its index lists is there`);
    const kept = this.destination.keepsDockerManifests ? top : toOciIndex(top, stored);
    await this.destination.putManifest(kept);
    return kept;
  }

  async #image(image: Manifest, what: string): Promise<Manifest> {
    const manifest = parseManifest(image.bytes, image.descriptor.mediaType, what) as ImageManifest;
    const blobs = [{ descriptor: manifest.config, role: 'config' as const }, ...manifest.layers.map((descriptor) => ({ descriptor, role: 'layer' as const }))];
    await forEachConcurrent(blobs, this.destination.concurrency, ({ descriptor, role }) => this.#blob(descriptor, role));
    const kept = this.destination.keepsDockerManifests ? image : toOciManifest(image);
    await this.destination.putManifest(kept);
    return kept;
  }

  // Once per digest: an index's images share layers, and so may the images saved together.
  #blob(descriptor: Descriptor, role: 'config' | 'layer'): Promise<void> {
    let copying = this.#blobs.get(descriptor.digest);
    if (!copying) {
      copying = this.#copyBlob(descriptor, role);
      this.#blobs.set(descriptor.digest, copying);
    }
    return copying;
  }

  async #copyBlob(descriptor: Descriptor, role: 'config' | 'layer'): Promise<void> {
    const { signal, onProgress } = this.options;
    throwIfAborted(signal);
    const present = await this.destination.hasBlob(descriptor);
    onProgress?.({ type: 'blob', digest: descriptor.digest, size: descriptor.size, role, present });
    if (present) return;
    const result = await this.destination.putBlob(descriptor, async () => this.#counted(descriptor, await this.source.blob(descriptor)));
    onProgress?.({ type: 'blob-done', digest: descriptor.digest, ...(result === 'mounted' && { mounted: true }) });
  }

  // The blob's bytes, counted for progress, and cut off when the signal fires.
  #counted(descriptor: Descriptor, stream: Readable): Readable {
    const { signal, onProgress } = this.options;
    let done = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, next) {
        done += chunk.length;
        onProgress?.({ type: 'bytes', digest: descriptor.digest, size: descriptor.size, done });
        next(null, chunk);
      },
    });
    stream.once('error', (error) => counter.destroy(error));
    counter.once('close', () => stream.destroy());
    const counted = stream.pipe(counter);
    return signal ? addAbortSignal(signal, counted) : counted;
  }
}
