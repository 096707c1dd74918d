// The OCI specifications' documents as types: a leaf that image, bundle and runtime share.
export * from './image-spec.js';
export * from './media-types.js';
export * from './runtime-spec.js';
