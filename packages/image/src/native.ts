/**
 * The native addon of @oci/native, an optional accelerator: kernel-confined path resolution,
 * devices and xattrs for the unpacker, hashing and inflating off the main thread. Everything
 * that uses it works without it (slower, or reporting what it skipped).
 */
import type { NativeAddon } from '@oci/native';

let loading: Promise<NativeAddon | null> | undefined;
let loaded: NativeAddon | null = null;

/** The addon, or null when @oci/native is not installed or its addon was not built. */
export function nativeAddon(): Promise<NativeAddon | null> {
  loading ??= import('@oci/native').then(
    (native) => (loaded = native.loadAddon()),
    () => null,
  );
  return loading;
}

/** The addon if nativeAddon() has loaded it already, else null (for work that has another way). */
export function loadedAddon(): NativeAddon | null {
  return loaded;
}
