/** Reading a named image out of the store: its manifest and config, for unpacking or inspecting. */
import { ImageError } from '../errors.js';
import { isIndex, isManifest } from '../media-types.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from '../oci-types.js';
import { hostPlatform, selectPlatform } from '../platform.js';
import type { Store } from './layout.js';

export interface StoredImage {
  /** The name in index.json. */
  name: string;
  /** Descriptor of the image manifest (the platform's, when the name points at an index). */
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
}

/**
 * The image named `input` (`busybox` finds `docker.io/library/busybox:latest`, see
 * Store.resolveName); an index is resolved to `platform` (default: this host's).
 */
export async function readImage(store: Store, input: string, platform: Platform = hostPlatform()): Promise<StoredImage> {
  const name = await store.resolveName(input);
  let descriptor = await store.resolve(name);
  if (isIndex(descriptor.mediaType)) {
    const index = await store.readJSON<ImageIndex>(descriptor);
    descriptor = selectPlatform(index.manifests, platform, name);
  }
  if (!isManifest(descriptor.mediaType)) {
    throw new ImageError('EMEDIATYPE', `${name}: ${descriptor.mediaType} is not an image manifest`);
  }
  const manifest = await store.readJSON<ImageManifest>(descriptor);
  if (manifest.schemaVersion !== 2 || !manifest.config || !Array.isArray(manifest.layers)) {
    throw new ImageError('EMANIFEST', `${name}: manifest ${descriptor.digest} is malformed`);
  }
  const config = await store.readJSON<ImageConfig>(manifest.config);
  if (config.rootfs?.diff_ids?.length !== manifest.layers.length) {
    throw new ImageError('EMANIFEST', `${name}: config lists ${config.rootfs?.diff_ids?.length ?? 0} diff_ids for ${manifest.layers.length} layers`);
  }
  return { name, descriptor, manifest, config };
}
