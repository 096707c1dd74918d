/**
 * Manifests from a registry: asked for with every media type we read in `Accept`, checked
 * against their digest (the one asked for, else the registry's Docker-Content-Digest), their
 * Content-Type against the media type they declare, and their shape against the image-spec.
 */
import { type Descriptor, type ImageIndex, type ImageManifest, MediaType } from '@oci/specs';
import { digestOf, isDigest } from '../digest.js';
import { parseManifest } from '../documents.js';
import { ImageError } from '../errors.js';
import { isIndex, isManifest } from '../media-types.js';
import type { RegistryClient } from './client.js';

export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ');

/** distribution refuses manifests over 4 MiB; so do we. */
const MAX_MANIFEST_SIZE = 4 << 20;

export interface FetchedManifest {
  descriptor: Descriptor;
  /** The bytes exactly as served: their digest is the manifest's identity. */
  bytes: Buffer;
  document: ImageManifest | ImageIndex;
}

/** Fetches `version` (a tag or a digest) of `repository`; `expected` is the descriptor that named it, if any. */
export async function fetchManifest(client: RegistryClient, repository: string, version: string, expected?: Descriptor): Promise<FetchedManifest> {
  const what = `${client.registry}/${repository}${isDigest(version) ? '@' : ':'}${version}`;
  if (expected && expected.size > MAX_MANIFEST_SIZE) tooLarge(what, expected.size);
  const response = await client.request({ method: 'GET', repository, path: `manifests/${version}`, headers: { accept: MANIFEST_ACCEPT } });
  if (response.status !== 200) throw await client.error(response, `manifest ${what}`, repository);
  // Refused at its headers, or as soon as it has sent too much: never read to its end.
  const length = Number(response.headers['content-length'] ?? 0);
  if (length > MAX_MANIFEST_SIZE) {
    response.body.destroy();
    tooLarge(what, length);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  // A chunk is lent only for the call: kept as a copy. Throwing stops the body.
  await response.body.consume((chunk) => {
    size += chunk.length;
    if (size > MAX_MANIFEST_SIZE) tooLarge(what);
    chunks.push(Buffer.from(chunk));
  });
  const bytes = Buffer.concat(chunks);

  const digest = digestOf(bytes);
  const served = response.headers['docker-content-digest'];
  const wanted = expected?.digest ?? (isDigest(version) ? version : typeof served === 'string' && served.startsWith('sha256:') ? served : undefined);
  if (wanted !== undefined && wanted !== digest) throw new ImageError('EDIGEST', `manifest ${what}: digest ${digest}, expected ${wanted}`);
  if (expected && expected.size !== bytes.length) throw new ImageError('EDIGEST', `manifest ${what}: size ${bytes.length}, expected ${expected.size}`);

  const contentType = String(response.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
  const document = parseManifest(bytes, contentType, what);
  const mediaType =
    document.mediaType ??
    (isIndex(contentType) || isManifest(contentType) ? contentType : 'manifests' in document ? MediaType.ociIndex : MediaType.ociManifest);
  if (expected && expected.mediaType !== mediaType) {
    throw new ImageError('EMANIFEST', `manifest ${what} is ${mediaType}, but its index said ${expected.mediaType}`);
  }
  return { descriptor: { mediaType, digest, size: bytes.length }, bytes, document };
}

function tooLarge(what: string, size?: number): never {
  const is = size === undefined ? `larger than ${MAX_MANIFEST_SIZE} bytes` : `${size} bytes, more than ${MAX_MANIFEST_SIZE}`;
  throw new ImageError('EMANIFEST', `manifest ${what} is ${is}`);
}
