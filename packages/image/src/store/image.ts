/** Reading a named image out of the store: its manifest and config, for unpacking or inspecting. */
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from '@oci/specs';
import { parseConfig, parseManifest } from '../documents.js';
import { ImageError } from '../errors.js';
import { isIndex, isManifest } from '../media-types.js';
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
    const index = await readDocument(store, descriptor, name);
    if (!('manifests' in index)) throw new ImageError('EMANIFEST', `${name}: ${descriptor.digest} is not an image index`);
    descriptor = selectPlatform(index.manifests, platform, name);
  }
  if (!isManifest(descriptor.mediaType)) {
    throw new ImageError('EMEDIATYPE', `${name}: ${descriptor.mediaType} is not an image manifest`);
  }
  const manifest = await readDocument(store, descriptor, name);
  if (!('layers' in manifest)) throw new ImageError('EMANIFEST', `${name}: ${descriptor.digest} is not an image manifest`);
  const config = parseConfig(await store.readBlob(manifest.config), manifest, name);
  return { name, descriptor, manifest, config };
}

/** A stored manifest or index, checked as one from a registry is: another tool may have written it. */
async function readDocument(store: Store, descriptor: Descriptor, name: string): Promise<ImageManifest | ImageIndex> {
  return parseManifest(await store.readBlob(descriptor), '', `${name}@${descriptor.digest}`);
}
