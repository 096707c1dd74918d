/**
 * Writing image archives, as a copy's destination (copy/types.ts):
 *
 * - `oci-archive`: a tar of an OCI image layout (image-spec image-layout.md): `oci-layout`,
 *   `index.json` naming each image by `org.opencontainers.image.ref.name`, `blobs/ALG/HEX`;
 *   what skopeo's and podman's `oci-archive:` read.
 * - `docker-archive`: what `docker save` writes since Docker 25: the same OCI layout, whose
 *   index.json entries also carry `io.containerd.image.name`, plus the `docker load` files beside
 *   it: `manifest.json` (each image's Config, RepoTags, Layers as paths in the archive) and
 *   `repositories` (RepoTags' top layers). docker load (every version), podman load and
 *   skopeo's `docker-archive:` read manifest.json.
 *
 * Blobs are written as they are stored (a compressed layer stays compressed: every reader of
 * these formats inflates what is compressed), so the manifests and their digests do not change.
 * Each blob streams into the archive once, checked against its digest on the way; the archive
 * goes to a temp file beside its destination and is renamed into place only whole, or to a
 * stream (stdout), gzip-compressed on request.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { type Descriptor, type ImageIndex, type ImageManifest, MediaType, REF_NAME_ANNOTATION } from '@oci/specs';
import { CONTAINERD_NAME_ANNOTATION } from '../annotations.js';
import type { ImageDestination, Manifest } from '../copy/types.js';
import { blobPath, Digester, parseDigest } from '../digest.js';
import { parseConfig, parseManifest } from '../documents.js';
import { ImageError } from '../errors.js';
import { isImageConfig, isIndex } from '../media-types.js';
import { parseReference } from '../reference.js';
import { newId } from '../store/lock.js';
import { TarWriter } from './tar-writer.js';

export type ArchiveFormat = 'docker-archive' | 'oci-archive';

/** Configs are kept while the archive is written: docker-archive's files are made from them. */
const MAX_CONFIG_SIZE = 8 << 20;

export interface ArchiveOutput {
  /** A file's path: written beside it, renamed into place when whole. Or a stream, which is not ended. */
  to: string | Writable;
  /** gzip the whole archive. */
  compress?: boolean;
}

/** One entry of docker-archive's manifest.json. */
interface DockerArchiveEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

export class ArchiveDestination implements ImageDestination {
  readonly concurrency = 1;
  readonly #written = new Set<string>();
  readonly #configs = new Map<string, Buffer>();
  readonly #index: Descriptor[] = [];
  readonly #dockerEntries = new Map<string, DockerArchiveEntry>();
  readonly #repositories: Record<string, Record<string, string>> = {};
  #directories = new Set<string>();

  private constructor(
    readonly format: ArchiveFormat,
    private readonly tar: TarWriter,
    private readonly output: { done(): Promise<void>; abort(): Promise<void> },
  ) {}

  static async create(format: ArchiveFormat, { to, compress = false }: ArchiveOutput): Promise<ArchiveDestination> {
    if (typeof to !== 'string') {
      const gzip = compress ? createGzip() : undefined;
      const piped = gzip ? pipeline(gzip, to, { end: false }) : undefined;
      piped?.catch(() => undefined); // awaited in done()
      return new ArchiveDestination(format, new TarWriter(gzip ?? to), {
        async done() {
          gzip?.end();
          await piped;
        },
        async abort() {
          gzip?.destroy();
        },
      });
    }
    const file = path.resolve(to);
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.${newId()}.partial`);
    const stream = createWriteStream(temp, { flags: 'wx', mode: 0o644, highWaterMark: 4 << 20 });
    const gzip = compress ? createGzip() : undefined;
    const written = gzip ? pipeline(gzip, stream) : new Promise<void>((resolve, reject) => stream.once('finish', resolve).once('error', reject));
    written.catch(() => undefined); // awaited in done()
    return new ArchiveDestination(format, new TarWriter(gzip ?? stream), {
      async done() {
        (gzip ?? stream).end();
        await written;
        await rename(temp, file);
      },
      async abort() {
        (gzip ?? stream).destroy();
        await new Promise((resolve) => stream.close(resolve));
        await rm(temp, { force: true });
      },
    });
  }

  /** An oci-archive holds indexes, and OCI media types only (what skopeo and podman find in it). */
  get keepsIndexes(): boolean {
    return this.format === 'oci-archive';
  }

  get keepsDockerManifests(): boolean {
    return this.format === 'docker-archive';
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return this.#written.has(descriptor.digest);
  }

  async putBlob(descriptor: Descriptor, open: () => Promise<Readable>): Promise<void> {
    const { algorithm } = parseDigest(descriptor.digest);
    await this.#directory('blobs');
    await this.#directory(`blobs/${algorithm}`);
    const digester = new Digester(algorithm);
    const keep = isImageConfig(descriptor.mediaType) && descriptor.size <= MAX_CONFIG_SIZE ? ([] as Buffer[]) : undefined;
    const checked = new Transform({
      transform(chunk: Buffer, _encoding, next) {
        digester.update(chunk);
        keep?.push(chunk);
        next(null, chunk);
      },
    });
    const source = await open();
    source.once('error', (error) => checked.destroy(error));
    await this.tar.file(blobPath(descriptor.digest), descriptor.size, source.pipe(checked));
    digester.check(descriptor, 'blob');
    if (keep) this.#configs.set(descriptor.digest, Buffer.concat(keep));
    this.#written.add(descriptor.digest);
  }

  async putManifest({ descriptor, bytes }: Manifest): Promise<void> {
    if (this.#written.has(descriptor.digest)) return;
    await this.putBlob(descriptor, async () => Readable.from([bytes]));
  }

  /**
   * oci-archive: each name becomes an index.json entry's ref.name (no name: an entry without
   * one). docker-archive: names are image references; each is a RepoTag.
   */
  async tag(image: Manifest, names: readonly string[]): Promise<void> {
    const { annotations: _, ...descriptor } = image.descriptor;
    if (this.format === 'oci-archive') {
      if (names.length === 0) this.#index.push(descriptor);
      for (const name of names) this.#index.push({ ...descriptor, annotations: { [REF_NAME_ANNOTATION]: name } });
      return;
    }
    if (isIndex(descriptor.mediaType)) throw new ImageError('EMEDIATYPE', `${descriptor.digest} is a multi-platform index, which a docker-archive cannot hold`);
    const manifest = parseManifest(image.bytes, descriptor.mediaType, descriptor.digest) as ImageManifest;
    const config = this.#configs.get(manifest.config.digest);
    if (!config) throw new ImageError('EMANIFEST', `${descriptor.digest}: its config ${manifest.config.digest} was not written`);
    const diffIds = parseConfig(config, manifest, descriptor.digest).rootfs.diff_ids;
    const entry = this.#dockerEntry(manifest);
    for (const name of names) {
      const ref = parseReference(name);
      if (!ref.tag) throw new ImageError('EREFERENCE', `${name}: a docker-archive names images by tag, not by digest`);
      const familiar = familiarName(ref.name);
      entry.RepoTags.push(`${familiar}:${ref.tag}`);
      (this.#repositories[familiar] ??= {})[ref.tag] = parseDigest(diffIds.at(-1) ?? manifest.config.digest).encoded;
      this.#index.push({ ...descriptor, annotations: { [CONTAINERD_NAME_ANNOTATION]: `${ref.name}:${ref.tag}`, [REF_NAME_ANNOTATION]: ref.tag } });
    }
    if (names.length === 0) this.#index.push(descriptor);
  }

  // One manifest.json entry per image (per config, as Docker and containers/image key them).
  #dockerEntry(manifest: ImageManifest): DockerArchiveEntry {
    let entry = this.#dockerEntries.get(manifest.config.digest);
    if (!entry) {
      entry = { Config: blobPath(manifest.config.digest), RepoTags: [], Layers: manifest.layers.map((layer) => blobPath(layer.digest)) };
      this.#dockerEntries.set(manifest.config.digest, entry);
    }
    return entry;
  }

  async commit(): Promise<void> {
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: this.#index };
    await this.tar.bytes('index.json', Buffer.from(JSON.stringify(index)));
    if (this.format === 'docker-archive') {
      await this.tar.bytes('manifest.json', Buffer.from(JSON.stringify([...this.#dockerEntries.values()])));
      await this.tar.bytes('repositories', Buffer.from(JSON.stringify(this.#repositories)));
    }
    await this.tar.bytes('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    await this.tar.finish();
    await this.output.done();
  }

  async abort(): Promise<void> {
    await this.output.abort();
  }

  async #directory(name: string): Promise<void> {
    if (this.#directories.has(name)) return;
    this.#directories.add(name);
    await this.tar.directory(name);
  }
}

/** `docker.io/library/busybox` → `busybox`, `docker.io/user/app` → `user/app`: how Docker writes RepoTags. */
function familiarName(name: string): string {
  return name.replace(/^docker\.io\/(library\/)?/, '');
}
