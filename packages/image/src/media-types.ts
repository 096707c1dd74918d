/** What a media type says: whether a document is an index or a manifest, how a layer is compressed. */
import { MediaType } from '@oci/specs';

export type Compression = 'none' | 'gzip' | 'zstd';

const LAYER_COMPRESSION: Readonly<Record<string, Compression>> = {
  [MediaType.ociLayer]: 'none',
  [MediaType.ociLayerGzip]: 'gzip',
  [MediaType.ociLayerZstd]: 'zstd',
  [MediaType.ociLayerNondistributable]: 'none',
  [MediaType.ociLayerNondistributableGzip]: 'gzip',
  [MediaType.ociLayerNondistributableZstd]: 'zstd',
  [MediaType.dockerLayer]: 'none',
  [MediaType.dockerLayerGzip]: 'gzip',
  [MediaType.dockerLayerZstd]: 'zstd',
  [MediaType.dockerLayerForeignGzip]: 'gzip',
};

/** How a layer of this media type is compressed, or undefined when it is not a layer type we know. */
export function layerCompression(mediaType: string): Compression | undefined {
  return LAYER_COMPRESSION[mediaType];
}

/** True for the config of a container image (not an artifact's: a Helm chart's, a signature's). */
export const isImageConfig = (mediaType: string) => mediaType === MediaType.ociConfig || mediaType === MediaType.dockerConfig;

export const isIndex = (mediaType: string | undefined) => mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
export const isManifest = (mediaType: string | undefined) => mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest;
