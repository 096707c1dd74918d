// The runtime-spec's config.json types, from the package that holds the specs' types.
export * from '@oci/specs/runtime-spec';
export { defaultSpec, DEFAULT_PATH } from './default-spec.js';
export { BundleError, type BundleErrorCode } from './errors.js';
export { specFromImage, type SpecOptions } from './from-image.js';
export { toRootless, withUserNamespace } from './rootless.js';
export { resolveUser, type ResolvedUser } from './user.js';
export { createBundle, writeConfig, type BundleOptions, type BundleResult } from './create.js';
export { createOverlayBundle, type OverlayBundleOptions, type OverlayBundleResult } from './overlay.js';
