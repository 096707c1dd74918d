/**
 * Docker schema 2 manifests and manifest lists as OCI ones, for destinations that hold OCI media
 * types only: an OCI layout that skopeo and podman read (`oci:`, `oci-archive:`) finds an image
 * in index.json only under an OCI manifest or index type, so skopeo converts on the way in, and
 * so does `copy`. The manifest's digest changes (its bytes do); the config and layers keep
 * theirs: only their media types are renamed, and the config's bytes are kept (skopeo rewrites
 * them as an OCI config, which changes the image's ID as well).
 */
import { type Descriptor, type ImageIndex, type ImageManifest, MediaType } from '@oci/specs';
import { digestOf } from '../digest.js';
import type { Manifest } from './types.js';

const OCI_TYPE: Readonly<Record<string, string>> = {
  [MediaType.dockerManifest]: MediaType.ociManifest,
  [MediaType.dockerManifestList]: MediaType.ociIndex,
  [MediaType.dockerConfig]: MediaType.ociConfig,
  [MediaType.dockerLayer]: MediaType.ociLayer,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
  [MediaType.dockerLayerZstd]: MediaType.ociLayerZstd,
  [MediaType.dockerLayerForeignGzip]: MediaType.ociLayerNondistributableGzip,
};

const oci = (mediaType: string) => OCI_TYPE[mediaType] ?? mediaType;

/** True for a Docker manifest or manifest list: what `toOciManifest` and `toOciIndex` convert. */
export function isDockerDocument(mediaType: string): boolean {
  return mediaType === MediaType.dockerManifest || mediaType === MediaType.dockerManifestList;
}

/** An image manifest with OCI media types. */
export function toOciManifest({ descriptor, bytes }: Manifest): Manifest {
  if (descriptor.mediaType !== MediaType.dockerManifest) return { descriptor, bytes };
  const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  const converted: ImageManifest = {
    ...manifest,
    mediaType: MediaType.ociManifest,
    config: { ...manifest.config, mediaType: oci(manifest.config.mediaType) },
    layers: manifest.layers.map((layer) => ({ ...layer, mediaType: oci(layer.mediaType) })),
  };
  return document(converted, descriptor);
}

/** An index with OCI media types, over its children as they were stored (`stored`: old digest → new descriptor). */
export function toOciIndex({ descriptor, bytes }: Manifest, stored: ReadonlyMap<string, Descriptor>): Manifest {
  const index = JSON.parse(bytes.toString('utf8')) as ImageIndex;
  const manifests = index.manifests.map((child) => {
    const now = stored.get(child.digest);
    return now ? { ...child, mediaType: now.mediaType, digest: now.digest, size: now.size } : child;
  });
  if (descriptor.mediaType !== MediaType.dockerManifestList && manifests.every((child, i) => child.digest === index.manifests[i]!.digest))
    return { descriptor, bytes };
  return document({ ...index, mediaType: MediaType.ociIndex, manifests }, descriptor);
}

function document(value: ImageManifest | ImageIndex, was: Descriptor): Manifest {
  const bytes = Buffer.from(JSON.stringify(value));
  return { descriptor: { ...was, mediaType: value.mediaType!, digest: digestOf(bytes), size: bytes.length }, bytes };
}
