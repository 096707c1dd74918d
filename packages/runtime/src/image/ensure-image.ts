/**
 * The image `runImage` runs, by docker's pull policy: `missing` pulls only when the store has no
 * such image, `always` pulls (a present image costs one manifest request), `never` only looks.
 */
import type { ProgressListener, RegistryOptions, Store, StoredImage } from '@oci/image';
import { ImageError } from '@oci/image/errors';
import { parseReference } from '@oci/image/reference';
import { readImage } from '@oci/image/store/image';
import type { Platform } from '@oci/specs';

export type PullPolicy = 'missing' | 'always' | 'never';

export interface EnsureOptions {
  policy: PullPolicy;
  platform?: Platform;
  registry?: RegistryOptions;
  onProgress?: ProgressListener;
  /** Prepare the image's snapshots as it downloads (pull's `snapshots`). */
  snapshots?: boolean;
}

/**
 * The image, pulled first when the policy says so. One process at a time pulls a reference into
 * a store (a store lock): others wait and find it there, so runs started together download and
 * unpack it once.
 */
export async function ensureImage(store: Store, reference: string, options: EnsureOptions): Promise<StoredImage> {
  const { policy, platform } = options;
  const present = policy === 'always' ? undefined : await lookUp(store, reference, options);
  if (present) return present;
  return store.exclusive(`pull/${normalized(reference)}`, async () => {
    const pulledMeanwhile = policy === 'always' ? undefined : await lookUp(store, reference, options);
    if (pulledMeanwhile) return pulledMeanwhile;
    // The registry client is loaded only for a pull: a warm run never needs it.
    const { pull } = await import('@oci/image/pull');
    const pulled = await pull(store, reference, { ...options.registry, platform, onProgress: options.onProgress, snapshots: options.snapshots });
    return readImage(store, pulled.name, platform);
  });
}

/** The image when the store has it; undefined when it does not (and may be pulled). */
async function lookUp(store: Store, reference: string, { policy, platform }: EnsureOptions): Promise<StoredImage | undefined> {
  try {
    return await readImage(store, reference, platform);
  } catch (error) {
    if (policy === 'never' || !(error instanceof ImageError) || error.code !== 'ENOTFOUND') throw error;
    return undefined;
  }
}

/** `busybox` and `docker.io/library/busybox:latest` take the same lock. */
function normalized(reference: string): string {
  try {
    return parseReference(reference).toString();
  } catch {
    return reference;
  }
}
