/**
 * The images in an archive, as a copy's source (copy/types.ts). Three shapes exist:
 *
 * - an OCI image layout (`oci-layout`, `index.json`, `blobs/`): `oci-archive` (skopeo, podman,
 *   buildkit) and `docker save` since Docker 25, which adds manifest.json beside it. Its
 *   manifests are taken as they are: their digests stay. An image's name is containerd's
 *   `io.containerd.image.name`, else manifest.json's RepoTags for its config, else its
 *   `org.opencontainers.image.ref.name` when that is an image reference (podman's order).
 * - `docker save` before Docker 25, and podman's and skopeo's `docker-archive`: manifest.json
 *   naming each image's config and layer tars, and its RepoTags. There is no manifest: each entry
 *   becomes an OCI manifest over the same files (a layer stored as it is; an uncompressed one is
 *   its own diff_id, which the copy checks).
 * - anything else holds no image (ENOIMAGE): a filesystem, as `docker export` writes.
 */
import type { Readable } from 'node:stream';
import { type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, MediaType, REF_NAME_ANNOTATION } from '@oci/specs';
import { CONTAINERD_NAME_ANNOTATION } from '../annotations.js';
import type { ContentSource, Manifest } from '../copy/types.js';
import { blobPath, Digester, digestOf, parseDigest } from '../digest.js';
import { parseManifest } from '../documents.js';
import { ImageError } from '../errors.js';
import { sniffCompression } from '../layer/decompress.js';
import { isManifest } from '../media-types.js';
import { parseReference } from '../reference.js';
import { ArchiveFile, type ArchiveFileOptions } from './archive-file.js';
import type { ArchiveFormat } from './archive-writer.js';

/** manifest.json, index.json, manifests and configs are read whole; none comes near this. */
const MAX_DOCUMENT_SIZE = 8 << 20;

export interface ArchivedImage {
  /** Its names as image references, normalised (`busybox:latest` → `docker.io/library/busybox:latest`). */
  names: string[];
  /** index.json's ref.name, as written (what `oci-archive:FILE:REF` matches first). */
  refName?: string;
  top: Manifest;
}

/** One entry of docker-archive's manifest.json. */
interface DockerArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

export class ImageArchive implements ContentSource {
  private constructor(
    readonly file: ArchiveFile,
    readonly format: ArchiveFormat,
    readonly images: readonly ArchivedImage[],
    /** Blobs found by their digest under another name: a docker-archive's config and layer files. */
    private readonly named: ReadonlyMap<string, string>,
    /** Manifests made here (docker-archive entries have none). */
    private readonly made: ReadonlyMap<string, Buffer>,
  ) {}

  /** Reads the archive at `input` (a file, or a stream such as stdin); close it when done. */
  static async open(input: string | Readable, options: ArchiveFileOptions = {}): Promise<ImageArchive> {
    const file = await ArchiveFile.open(input, options);
    try {
      if (file.has('oci-layout') && file.has('index.json')) {
        return new ImageArchive(file, file.has('manifest.json') ? 'docker-archive' : 'oci-archive', await layoutImages(file), new Map(), new Map());
      }
      if (file.has('manifest.json')) {
        const { images, named, made } = await dockerArchiveImages(file);
        return new ImageArchive(file, 'docker-archive', images, named, made);
      }
      throw new ImageError('ENOIMAGE', `${file.name} holds no image: no manifest.json and no OCI layout`);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /**
   * The image `ref` names (an oci-archive's ref.name, or a name of it as a reference), or the
   * only image when no `ref` is given.
   */
  find(ref: string | undefined): ArchivedImage {
    if (ref === undefined) {
      if (this.images.length !== 1)
        throw new ImageError('ENOTFOUND', `${this.file.name} holds ${this.images.length} images: name one (${this.format}:FILE:REF)`);
      return this.images[0]!;
    }
    const normalised = normaliseOrUndefined(ref);
    const found =
      this.images.find((image) => image.refName === ref) ?? this.images.find((image) => normalised !== undefined && image.names.includes(normalised));
    if (!found) throw new ImageError('ENOTFOUND', `no image named ${ref} in ${this.file.name}`);
    return found;
  }

  async manifest(descriptor: Descriptor): Promise<Buffer> {
    const made = this.made.get(descriptor.digest);
    if (made) return made;
    const name = this.#fileOf(descriptor);
    const bytes = await this.file.read(name, MAX_DOCUMENT_SIZE);
    const digester = new Digester(parseDigest(descriptor.digest).algorithm);
    digester.update(bytes);
    digester.check(descriptor, `${name} in ${this.file.name}`);
    return bytes;
  }

  async blob(descriptor: Descriptor): Promise<Readable> {
    return this.file.stream(this.#fileOf(descriptor));
  }

  close(): Promise<void> {
    return this.file.close();
  }

  // Where the archive has the content: under its digest, or (docker-archive) under the name manifest.json gives.
  #fileOf(descriptor: Descriptor): string {
    const name = this.named.get(descriptor.digest) ?? blobPath(descriptor.digest);
    if (!this.file.has(name)) throw new ImageError('ENOTFOUND', `${this.file.name} lacks ${descriptor.digest}`);
    return name;
  }
}

async function readJSON<T>(file: ArchiveFile, name: string): Promise<T> {
  const bytes = await file.read(name, MAX_DOCUMENT_SIZE);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new ImageError('EIMPORT', `${name} in ${file.name} is not valid JSON`);
  }
}

async function layoutImages(file: ArchiveFile): Promise<ArchivedImage[]> {
  let index: ImageIndex;
  try {
    index = parseManifest(await file.read('index.json', MAX_DOCUMENT_SIZE), MediaType.ociIndex, `index.json in ${file.name}`) as ImageIndex;
  } catch (error) {
    throw new ImageError('EIMPORT', (error as Error).message, { cause: error });
  }
  const badAnnotations = index.manifests.find((entry) => entry.annotations !== undefined && !isStringRecord(entry.annotations));
  if (badAnnotations) throw new ImageError('EIMPORT', `index.json in ${file.name}: the annotations of ${badAnnotations.digest} are not strings`);
  const tags = file.has('manifest.json') ? await tagsByConfig(file) : new Map<string, string[]>();
  const images: ArchivedImage[] = [];
  for (const entry of index.manifests) {
    if (!file.has(blobPath(entry.digest))) throw new ImageError('EIMPORT', `index.json in ${file.name} names ${entry.digest}, which the archive lacks`);
    const bytes = await file.read(blobPath(entry.digest), MAX_DOCUMENT_SIZE);
    const { [CONTAINERD_NAME_ANNOTATION]: containerdName, [REF_NAME_ANNOTATION]: refName, ...annotations } = entry.annotations ?? {};
    const { annotations: _, ...plain } = entry;
    const top = { descriptor: Object.keys(annotations).length > 0 ? { ...plain, annotations } : plain, bytes };
    const names = containerdName
      ? [normalise(containerdName)]
      : (configTags(top, tags) ?? (refName !== undefined ? [normaliseOrUndefined(refName)].filter((n) => n !== undefined) : []));
    images.push({ names, ...(refName !== undefined && { refName }), top });
  }
  return images;
}

// manifest.json beside a layout (Docker 25+) tags images by their config's path, `blobs/sha256/HEX`.
async function tagsByConfig(file: ArchiveFile): Promise<Map<string, string[]>> {
  const tags = new Map<string, string[]>();
  for (const entry of await dockerEntries(file)) {
    const match = /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(entry.Config ?? '');
    if (match) tags.set(`${match[1]}:${match[2]}`, (entry.RepoTags ?? []).map(normalise));
  }
  return tags;
}

function configTags(top: Manifest, tags: Map<string, string[]>): string[] | undefined {
  if (tags.size === 0 || !isManifest(top.descriptor.mediaType)) return undefined;
  const manifest = parseManifest(top.bytes, top.descriptor.mediaType, top.descriptor.digest) as ImageManifest;
  const found = tags.get(manifest.config.digest);
  return found && found.length > 0 ? found : undefined;
}

async function dockerEntries(file: ArchiveFile): Promise<DockerArchiveEntry[]> {
  const entries = await readJSON<DockerArchiveEntry[]>(file, 'manifest.json');
  const isStrings = (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === 'string');
  const valid =
    Array.isArray(entries) && entries.every((e) => typeof e?.Config === 'string' && isStrings(e.Layers) && (e.RepoTags == null || isStrings(e.RepoTags)));
  if (!valid) throw new ImageError('EIMPORT', `manifest.json in ${file.name} is not a list of images (Config, Layers, RepoTags)`);
  return entries;
}

async function dockerArchiveImages(file: ArchiveFile): Promise<{ images: ArchivedImage[]; named: Map<string, string>; made: Map<string, Buffer> }> {
  const named = new Map<string, string>();
  const made = new Map<string, Buffer>();
  const images: ArchivedImage[] = [];
  for (const entry of await dockerEntries(file)) {
    const configBytes = await file.read(entry.Config, MAX_DOCUMENT_SIZE);
    let config: ImageConfig;
    try {
      config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    } catch {
      throw new ImageError('EIMPORT', `${entry.Config} in ${file.name} is not valid JSON`);
    }
    const diffIds = config?.rootfs?.diff_ids;
    if (!Array.isArray(diffIds) || diffIds.length !== entry.Layers.length) {
      throw new ImageError('EIMPORT', `${entry.Config} lists ${Array.isArray(diffIds) ? diffIds.length : 0} diff_ids for ${entry.Layers.length} layers`);
    }
    const configDescriptor = { mediaType: MediaType.ociConfig, digest: digestOf(configBytes), size: configBytes.length };
    named.set(configDescriptor.digest, entry.Config);
    const layers: Descriptor[] = [];
    for (const [i, layerName] of entry.Layers.entries()) {
      const layer = await layerDescriptor(file, layerName, diffIds[i]!);
      named.set(layer.digest, layerName);
      layers.push(layer);
    }
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDescriptor, layers };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const descriptor: Descriptor = { mediaType: MediaType.ociManifest, digest: digestOf(bytes), size: bytes.length };
    if (typeof config.os === 'string' && typeof config.architecture === 'string') {
      descriptor.platform = { os: config.os, architecture: config.architecture, ...(typeof config.variant === 'string' && { variant: config.variant }) };
    }
    made.set(descriptor.digest, bytes);
    images.push({ names: (entry.RepoTags ?? []).map(normalise), top: { descriptor, bytes } });
  }
  return { images, named, made };
}

/**
 * A layer file as a blob: an uncompressed tar is its own diff_id (the copy checks its bytes
 * against it); a compressed one (go-containerregistry's tarballs) is hashed here, once.
 */
async function layerDescriptor(file: ArchiveFile, name: string, diffId: string): Promise<Descriptor> {
  const extent = file.find(name);
  if (!extent) throw new ImageError('EIMPORT', `${file.name} lacks ${name}`);
  const compression = sniffCompression(await file.head(name, 4));
  if (compression === 'none') return { mediaType: MediaType.ociLayer, digest: diffId, size: extent.size };
  const digester = new Digester();
  for await (const chunk of file.stream(name)) digester.update(chunk as Buffer);
  return { mediaType: compression === 'gzip' ? MediaType.ociLayerGzip : MediaType.ociLayerZstd, digest: digester.digest(), size: extent.size };
}

function isStringRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((item) => typeof item === 'string');
}

function normalise(name: string): string {
  try {
    return parseReference(name).toString();
  } catch {
    throw new ImageError('EIMPORT', `invalid image name '${name}'`);
  }
}

function normaliseOrUndefined(name: string): string | undefined {
  try {
    return parseReference(name).toString();
  } catch {
    return undefined;
  }
}
