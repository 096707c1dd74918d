// The image library's public API.
export { Digester, digestOf, isDigest, parseDigest, type DigestAlgorithm } from './digest.js';
export { ImageError, type ImageErrorCode } from './errors.js';
export { isIndex, isManifest, layerCompression, MediaType, type Compression } from './media-types.js';
export * from './oci-types.js';
export { formatPlatform, hostPlatform, parsePlatform, platformMatches, selectPlatform } from './platform.js';
export { DEFAULT_REGISTRY, DEFAULT_TAG, parseReference, Reference } from './reference.js';
export { readImage, type StoredImage } from './store/image.js';
export { Store, type GarbageCollection } from './store/layout.js';
