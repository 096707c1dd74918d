/**
 * The image `runImage` runs, by docker's pull policy: `missing` pulls only when the store has no
 * such image, `always` pulls (a present image costs one manifest request), `never` only looks.
 */
import type { Platform, ProgressListener, RegistryOptions, StoredImage, Store } from '@oci/image';
import { ImageError } from '@oci/image/errors';
import { readImage } from '@oci/image/store/image';

export type PullPolicy = 'missing' | 'always' | 'never';

export interface EnsureOptions {
  policy: PullPolicy;
  platform?: Platform;
  registry?: RegistryOptions;
  onProgress?: ProgressListener;
}

export async function ensureImage(store: Store, reference: string, { policy, platform, registry, onProgress }: EnsureOptions): Promise<StoredImage> {
  if (policy !== 'always') {
    try {
      return await readImage(store, reference, platform);
    } catch (error) {
      if (policy === 'never' || !(error instanceof ImageError) || error.code !== 'ENOTFOUND') throw error;
    }
  }
  // The registry client is loaded only for a pull: a warm run never needs it.
  const { pull } = await import('@oci/image/pull');
  const pulled = await pull(store, reference, { ...registry, platform, onProgress });
  return readImage(store, pulled.name, platform);
}
