// The image library's public API.
export { Digester, digestOf, isDigest, parseDigest, type DigestAlgorithm } from './digest.js';
export { ImageError, storeError, type ImageErrorCode } from './errors.js';
export { isIndex, isManifest, layerCompression, MediaType, type Compression } from './media-types.js';
export * from './oci-types.js';
export { formatPlatform, hostPlatform, parsePlatform, platformMatches, selectPlatform } from './platform.js';
export { DEFAULT_REGISTRY, DEFAULT_TAG, parseReference, Reference } from './reference.js';
export { readImage, type StoredImage } from './store/image.js';
export type { Expected, Ingest } from './store/ingest.js';
export { Store, type GarbageCollection } from './store/layout.js';
export { pull, type PullOptions, type PullResult } from './pull.js';
export type { ProgressEvent, ProgressListener } from './progress.js';
export { RegistryClient, type RegistryOptions } from './registry/client.js';
export { loadHostsConfig, parseMirrors, type HostsConfig } from './registry/hosts.js';
export { listImages, removeImage, type ImageSummary } from './images.js';
export { push, pushDescriptor, type PushOptions, type PushResult } from './push.js';
