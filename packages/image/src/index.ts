// The image library's public API.

// The image-spec's documents and media types, from the package that holds the specs' types.
export {
  type ContainerConfig,
  type Descriptor,
  type IdMapping,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  MediaType,
  type Platform,
  REF_NAME_ANNOTATION,
} from '@oci/specs';
export { CONTAINERD_NAME_ANNOTATION, PULLED_ANNOTATION } from './annotations.js';
export type { ArchiveFormat } from './archive/archive-writer.js';
export { type ImageLocation, parseLocation } from './copy/locations.js';
export { type CopyOptions, type CopyResult, copy } from './copy.js';
export { type DigestAlgorithm, Digester, digestOf, isDigest, parseDigest } from './digest.js';
export { ImageError, type ImageErrorCode } from './errors.js';
export { type FoundImage, findImage, type ImageInspection, type ImageSummary, inspectImage, listImages, removeImage, tagImage } from './images.js';
export { type ExportImportOptions, exportConfig, filesystemTar, importDockerExport } from './import/docker-export.js';
export type { SkippedItem } from './layer/apply.js';
export { mapId, parseIdMap } from './layer/ids.js';
export { type LayerInput, type UnpackOptions, type UnpackProgress, type UnpackResult, type UnpackSource, unpack } from './layer/unpack.js';
export { type LoadedImage, type LoadOptions, load } from './load.js';
export { type Compression, isIndex, isManifest, layerCompression } from './media-types.js';
export { formatPlatform, hostPlatform, parsePlatform, platformMatches, selectPlatform } from './platform.js';
export type { ProgressEvent, ProgressListener } from './progress.js';
export { type PullOptions, type PullResult, pull } from './pull.js';
export { type PushOptions, type PushResult, push, pushDescriptor } from './push.js';
export { DEFAULT_REGISTRY, DEFAULT_TAG, parseReference, Reference } from './reference.js';
export { type AuthFile, authFiles, primaryAuthFile } from './registry/auth-files.js';
export { RegistryClient, type RegistryOptions } from './registry/client.js';
export { type Credentials, findCredentials } from './registry/credentials.js';
export { type HostsConfig, loadHostsConfig, parseMirrors } from './registry/hosts.js';
export { checkCredentials, type LoginTarget, login, logout, logoutAll, parseLoginTarget, storedCredentials } from './registry/login.js';
export { type SavedImage, type SaveOptions, save } from './save.js';
export { chainIds } from './snapshot/chain.js';
export { type SnapshotInfo, SnapshotLayout } from './snapshot/layout.js';
export { listSnapshots, type SnapshotSummary } from './snapshot/list.js';
export { type PreparedImage, type PrepareOptions, prepareSnapshots } from './snapshot/prepare.js';
export { readImage, type StoredImage } from './store/image.js';
export type { Expected, Ingest, Ingester } from './store/ingest.js';
export { type GarbageCollection, Store } from './store/layout.js';
