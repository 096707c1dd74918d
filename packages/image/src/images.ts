/** What `oci images` and `oci rmi` do with the store, as library functions (`oci inspect` is readImage). */
import { isIndex } from './media-types.js';
import type { ImageIndex, ImageManifest } from './oci-types.js';
import { formatPlatform } from './platform.js';
import type { Store } from './store/layout.js';

export interface ImageSummary {
  /** The name in index.json. */
  ref: string;
  /** The manifest (or index) digest the name points to. */
  digest: string;
  /** `linux/amd64`; for an index, every platform it holds, comma-separated. */
  platform: string;
  /** Bytes of the manifest, config and layers as stored (compressed). */
  size: number;
  /** The image config's `created`, if it says. */
  created?: string;
}

/** Every named image in the store, in index.json's order. Entries whose blobs are missing are listed with what is known. */
export async function listImages(store: Store): Promise<ImageSummary[]> {
  const summaries: ImageSummary[] = [];
  for (const [ref, descriptor] of await store.refs()) {
    const summary: ImageSummary = { ref, digest: descriptor.digest, platform: descriptor.platform ? formatPlatform(descriptor.platform) : '', size: descriptor.size };
    try {
      if (isIndex(descriptor.mediaType)) {
        const index = await store.readJSON<ImageIndex>(descriptor);
        summary.platform = index.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!)).join(',');
      } else {
        const manifest = await store.readJSON<ImageManifest>(descriptor);
        const config = await store.readJSON<{ created?: string; os?: string; architecture?: string; variant?: string }>(manifest.config);
        summary.size += manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
        if (config.created) summary.created = config.created;
        if (!summary.platform && config.os && config.architecture) summary.platform = formatPlatform({ os: config.os, architecture: config.architecture, ...(config.variant && { variant: config.variant }) });
      }
    } catch {
      // A damaged entry still lists; inspect says what is wrong with it.
    }
    summaries.push(summary);
  }
  return summaries;
}

/** Removes the name (see Store.resolveName); the blobs stay until `store.gc()`. Returns the name removed. */
export async function removeImage(store: Store, input: string): Promise<string> {
  const name = await store.resolveName(input);
  await store.removeRef(name);
  return name;
}
