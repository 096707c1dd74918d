// The runtime-spec's config.json types, from the package that holds the specs' types.
export * from '@oci/specs/runtime-spec';
export { type BundleOptions, type BundleResult, createBundle, volumeDirs, writeConfig } from './create.js';
export { DEFAULT_PATH, defaultSpec } from './default-spec.js';
export { BundleError, type BundleErrorCode } from './errors.js';
export { type SpecOptions, specFromImage } from './from-image.js';
export { createOverlayBundle, type OverlayBundleOptions, type OverlayBundleResult } from './overlay.js';
export { toRootless, withUserNamespace } from './rootless.js';
export { type ResolvedUser, resolveUser } from './user.js';
