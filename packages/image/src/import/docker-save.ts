/**
 * `docker save` archives into the store, every image and tag in them. Two layouts exist (moby's
 * image/spec): the legacy one (manifest.json naming each image's config and layer tars, plus
 * `repositories`), and since Docker 25 an OCI image layout (oci-layout, index.json, blobs/) with
 * manifest.json beside it. With an OCI layout inside, its manifests are imported as they are (the
 * digests stay); otherwise each manifest.json entry becomes an OCI manifest over the same blobs.
 *
 * The archive is read once, as a stream: big files go straight into the store as blobs (their
 * digests computed on the way), small ones (JSON) are kept in memory until the end.
 */
import { createReadStream } from 'node:fs';
import { ImageError } from '../errors.js';
import { isManifest, MediaType } from '../media-types.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../oci-types.js';
import { parseReference } from '../reference.js';
import type { Store } from '../store/layout.js';
import { sniffCompression } from '../layer/decompress.js';
import { cleanPath } from '../layer/root.js';
import { readTar } from '../layer/tar.js';

/** Files up to this size are kept in memory; beyond it they stream into the store. */
const SMALL_FILE = 4 << 20;

export interface ImportedImage {
  /** Names given in the store (normalised: `busybox:latest` → `docker.io/library/busybox:latest`). */
  names: string[];
  manifest: Descriptor;
}

interface ArchiveFile {
  /** Whole content, for small files. */
  data?: Buffer;
  /** Where a big file went in the store. */
  blob?: { digest: string; size: number };
  /** First bytes, to tell a layer's compression. */
  head: Buffer;
}

interface Archive {
  files: Map<string, ArchiveFile>;
  /** Symlinks (docker save links identical layers to one another). */
  links: Map<string, string>;
}

/** Imports a `docker save` tarball. With `name`, the archive must hold one image, named so. */
export async function importDockerSave(store: Store, file: string, { name }: { name?: string } = {}): Promise<ImportedImage[]> {
  return store.lease(async () => {
    const archive = await readArchive(store, file);
    const hasLayout = archive.files.has('oci-layout') && archive.files.has('index.json');
    const images = hasLayout ? await importLayout(store, archive) : await importLegacy(store, archive);
    if (images.length === 0) throw new ImageError('EIMPORT', `${file} holds no image: not a docker save archive`);
    if (name !== undefined) {
      if (images.length !== 1) throw new ImageError('EIMPORT', `${file} holds ${images.length} images: a REF can name only one`);
      images[0]!.names = [normalise(name)];
    }
    for (const image of images) {
      if (image.names.length === 0) throw new ImageError('EIMPORT', `image ${image.manifest.digest} in ${file} has no tag: give a REF to name it`);
      for (const imageName of image.names) await store.setRef(imageName, image.manifest);
    }
    return images;
  });
}

async function readArchive(store: Store, file: string): Promise<Archive> {
  const archive: Archive = { files: new Map(), links: new Map() };
  try {
    for await (const { header, content } of readTar(createReadStream(file, { highWaterMark: 1 << 20 }))) {
      // manifest.json names these files in JSON strings: their names as text.
      const name = cleanPath(header.path.toString());
      const target = header.linkname.toString();
      if (header.type === 'symlink') archive.links.set(name, cleanPath(target.startsWith('/') ? target : `${name}/../${target}`));
      if (header.type === 'hardlink') archive.links.set(name, cleanPath(target));
      if (header.type !== 'file') continue;
      if (header.size <= SMALL_FILE) {
        const chunks: Buffer[] = [];
        for await (const chunk of content) chunks.push(chunk);
        const data = Buffer.concat(chunks);
        archive.files.set(name, { data, head: data.subarray(0, 4) });
      } else {
        let head: Buffer | undefined;
        const blob = await store.writeBlob(
          (async function* () {
            for await (const chunk of content) {
              head ??= chunk.subarray(0, 4);
              yield chunk;
            }
          })(),
        );
        archive.files.set(name, { blob, head: head ?? Buffer.alloc(0) });
      }
    }
  } catch (error) {
    if (error instanceof ImageError && error.code === 'ELAYER') throw new ImageError('EIMPORT', `${file}: ${error.message}`, { cause: error });
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError('EIMPORT', `${file}: no such file`);
    throw error;
  }
  return archive;
}

function lookup(archive: Archive, name: string): ArchiveFile | undefined {
  let current = cleanPath(name);
  for (let hops = 0; hops < 16; hops++) {
    const found = archive.files.get(current);
    if (found) return found;
    const target = archive.links.get(current);
    if (target === undefined) return undefined;
    current = target;
  }
  return undefined;
}

function need(archive: Archive, name: string): ArchiveFile {
  const found = lookup(archive, name);
  if (!found) throw new ImageError('EIMPORT', `the archive lacks ${name}`);
  return found;
}

function parseJSON<T>(file: ArchiveFile, name: string): T {
  if (!file.data) throw new ImageError('EIMPORT', `${name} is too large to be JSON`);
  try {
    return JSON.parse(file.data.toString('utf8')) as T;
  } catch {
    throw new ImageError('EIMPORT', `${name} is not valid JSON`);
  }
}

/** The file as a blob in the store (small files are written now). */
async function toBlob(store: Store, file: ArchiveFile, expected?: string): Promise<{ digest: string; size: number }> {
  const blob = file.blob ?? (await store.writeBlob([file.data!]));
  if (expected !== undefined && blob.digest !== expected) throw new ImageError('EIMPORT', `blob ${expected} in the archive has digest ${blob.digest}`);
  return blob;
}

interface LegacyEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function importLegacy(store: Store, archive: Archive): Promise<ImportedImage[]> {
  const manifestFile = lookup(archive, 'manifest.json');
  if (!manifestFile) throw new ImageError('EIMPORT', 'not a docker save archive: no manifest.json and no OCI layout');
  const entries = parseJSON<LegacyEntry[]>(manifestFile, 'manifest.json');
  if (!Array.isArray(entries)) throw new ImageError('EIMPORT', 'manifest.json is not a list of images');
  const images: ImportedImage[] = [];
  for (const entry of entries) {
    const configFile = need(archive, entry.Config);
    const config = parseJSON<ImageConfig>(configFile, entry.Config);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== entry.Layers.length) throw new ImageError('EIMPORT', `${entry.Config} lists ${diffIds.length} diff_ids for ${entry.Layers.length} layers`);
    const layers: Descriptor[] = [];
    for (const [i, layerName] of entry.Layers.entries()) {
      const file = need(archive, layerName);
      const compression = sniffCompression(file.head);
      const blob = await toBlob(store, file);
      // An uncompressed layer is its own diff_id: check it now rather than at unpack.
      if (compression === 'none' && blob.digest !== diffIds[i]) throw new ImageError('EIMPORT', `${layerName}: digest ${blob.digest}, but the config's diff_id is ${diffIds[i]}`);
      const mediaType = compression === 'gzip' ? MediaType.ociLayerGzip : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
      layers.push({ mediaType, ...blob });
    }
    const configBlob = await toBlob(store, configFile);
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, ...configBlob }, layers };
    const descriptor = await store.writeJSON(manifest, MediaType.ociManifest);
    images.push({ names: (entry.RepoTags ?? []).map(normalise), manifest: { ...descriptor, platform: { architecture: config.architecture, os: config.os } } });
  }
  return images;
}

const CONTAINERD_NAME = 'io.containerd.image.name';
const REF_NAME = 'org.opencontainers.image.ref.name';

async function importLayout(store: Store, archive: Archive): Promise<ImportedImage[]> {
  for (const [name, file] of archive.files) {
    const match = /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(name);
    if (match) await toBlob(store, file, `${match[1]}:${match[2]}`);
  }
  const index = parseJSON<ImageIndex>(need(archive, 'index.json'), 'index.json');
  const tags = legacyTags(archive);
  const images: ImportedImage[] = [];
  for (const descriptor of index.manifests ?? []) {
    if (!(await store.hasBlob(descriptor.digest, descriptor.size))) throw new ImageError('EIMPORT', `index.json names ${descriptor.digest}, which the archive lacks`);
    const annotations = descriptor.annotations ?? {};
    const names = annotations[CONTAINERD_NAME] ? [normalise(annotations[CONTAINERD_NAME])] : await tagsOf(store, descriptor, tags);
    const { [CONTAINERD_NAME]: _c, [REF_NAME]: _r, ...rest } = annotations;
    images.push({ names, manifest: { ...descriptor, annotations: rest } });
  }
  return images;
}

// manifest.json beside an OCI layout tags images by their config blob ("blobs/sha256/HEX").
function legacyTags(archive: Archive): Map<string, string[]> {
  const tags = new Map<string, string[]>();
  const file = lookup(archive, 'manifest.json');
  if (!file) return tags;
  for (const entry of parseJSON<LegacyEntry[]>(file, 'manifest.json')) {
    const match = /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(entry.Config ?? '');
    if (match) tags.set(`${match[1]}:${match[2]}`, (entry.RepoTags ?? []).map(normalise));
  }
  return tags;
}

async function tagsOf(store: Store, descriptor: Descriptor, tags: Map<string, string[]>): Promise<string[]> {
  if (!isManifest(descriptor.mediaType)) return [];
  const manifest = await store.readJSON<ImageManifest>(descriptor);
  return tags.get(manifest.config?.digest) ?? [];
}

function normalise(name: string): string {
  try {
    return parseReference(name).toString();
  } catch {
    throw new ImageError('EIMPORT', `invalid image name '${name}'`);
  }
}
