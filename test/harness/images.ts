/**
 * Builds test images by hand: tar layers from entry lists (any entry type, hostile ones
 * included), an OCI image layout around them, and a push of that layout to a registry.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, linkSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Descriptor, ImageConfig } from '@oci/image';
import { type Header, pack } from 'tar-stream';
import { ociBin } from './cli.js';
import { tempDir } from './tmp.js';

export interface TarEntry {
  path: string;
  type?: Header['type'];
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  content?: string | Buffer;
  /** Target of a symlink, or the path a hardlink points to. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** PAX extended header records, e.g. { 'SCHILY.xattr.user.k': 'v' }. */
  pax?: Record<string, string>;
}

const EPOCH = new Date('2024-01-01T00:00:00Z');

/** An uncompressed tar stream holding the entries, in order. */
export async function tarLayer(entries: readonly TarEntry[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', () => resolve());
    tar.on('error', reject);
  });
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    // GNU long-name records ('L', 'K') carry the name as content, like files.
    const content = type === 'file' || type.startsWith('gnu-long') ? Buffer.from(entry.content ?? '') : Buffer.alloc(0);
    const header: Parameters<typeof tar.entry>[0] = {
      name: entry.path,
      type,
      mode: entry.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      mtime: entry.mtime ?? EPOCH,
      size: content.length,
      linkname: entry.linkname ?? '',
      devmajor: entry.devmajor ?? 0,
      devminor: entry.devminor ?? 0,
      pax: entry.pax,
    };
    await new Promise<void>((resolve, reject) => tar.entry(header, content, (error) => (error ? reject(error) : resolve())));
  }
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface BuiltImage {
  manifest: Descriptor;
  config: ImageConfig;
  /** Every blob by digest: config, layers, manifest. */
  blobs: Map<string, Buffer>;
}

/**
 * An OCI image (manifest, config, gzip layers) from uncompressed tar layers. `config` fills
 * the image config's runtime part; rootfs.diff_ids are computed.
 */
export function buildImage(
  layers: readonly Buffer[],
  config: Omit<ImageConfig, 'rootfs'> = { architecture: 'amd64', os: 'linux' },
  /** How each layer is stored: gzip (the default), zstd, or as the plain tar. */
  compress: (tar: Buffer, index: number) => { data: Buffer; mediaType: string } = (tar) => ({
    data: gzipSync(tar),
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
  }),
): BuiltImage {
  const blobs = new Map<string, Buffer>();
  const add = (data: Buffer, mediaType: string): Descriptor => {
    const digest = sha256(data);
    blobs.set(digest, data);
    return { mediaType, digest, size: data.length };
  };
  const layerDescriptors = layers.map((tar, i) => {
    const { data, mediaType } = compress(tar, i);
    return add(data, mediaType);
  });
  const imageConfig: ImageConfig = { ...config, rootfs: { type: 'layers', diff_ids: layers.map((tar) => sha256(tar)) } };
  const configDescriptor = add(Buffer.from(JSON.stringify(imageConfig)), 'application/vnd.oci.image.config.v1+json');
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: configDescriptor,
    layers: layerDescriptors,
  };
  const manifestDescriptor = add(Buffer.from(JSON.stringify(manifest)), manifest.mediaType);
  return {
    manifest: { ...manifestDescriptor, platform: { architecture: config.architecture, os: config.os, ...(config.variant && { variant: config.variant }) } },
    config: imageConfig,
    blobs,
  };
}

/**
 * A multi-platform image: an OCI index over `images` (each manifest with its platform). Its
 * `manifest` is the index's descriptor and `blobs` holds every image's blobs and the index.
 */
export function buildIndex(images: readonly BuiltImage[]): BuiltImage {
  const blobs = new Map(images.flatMap((image) => [...image.blobs]));
  const index = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: images.map((image) => image.manifest) }),
  );
  const digest = sha256(index);
  blobs.set(digest, index);
  return { manifest: { mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: index.length }, config: images[0]!.config, blobs };
}

/** Writes an OCI image layout holding the images, each under its `org.opencontainers.image.ref.name`. */
export function writeLayout(dir: string, images: Readonly<Record<string, BuiltImage>>): void {
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests: Descriptor[] = [];
  for (const [ref, image] of Object.entries(images)) {
    for (const [digest, data] of image.blobs) writeFileSync(path.join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), data);
    manifests.push({ ...image.manifest, annotations: { 'org.opencontainers.image.ref.name': ref } });
  }
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
}

/**
 * Pushes `layout:ref` to `host/repository:tag` with `oci push` (run as a user runs it, and
 * synchronously, as callers expect). `format: 'v2s2'` pushes it with Docker's schema 2 media
 * types instead (same config and layers, a converted manifest). `pushOptions` go to `oci push`
 * (e.g. `--ca-cert FILE`).
 */
export function pushLayout(layout: string, ref: string, target: string, format: 'oci' | 'v2s2' = 'oci', pushOptions: readonly string[] = []): void {
  const source = format === 'v2s2' ? dockerSchema2Layout(layout, ref) : { dir: layout, ref, remove() {} };
  try {
    const result = spawnSync(process.execPath, [ociBin, '--store', source.dir, 'push', '--quiet', ...pushOptions, source.ref, target], {
      encoding: 'utf8',
      env: { ...process.env, OCI_REGISTRY_MIRRORS: '' },
    });
    if (result.status !== 0) throw new Error(`oci push to ${target} failed: ${result.stderr || result.error}`);
  } finally {
    source.remove();
  }
}

const DOCKER_LAYER: Readonly<Record<string, string>> = {
  'application/vnd.oci.image.layer.v1.tar+gzip': 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.oci.image.layer.v1.tar': 'application/vnd.docker.image.rootfs.diff.tar',
};

/** A temp layout holding `ref` of `layout` as a Docker schema 2 image (blobs hard-linked). */
function dockerSchema2Layout(layout: string, ref: string): { dir: string; ref: string; remove(): void } {
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref);
  if (!entry) throw new Error(`${layout} has no image named ${ref}`);
  const blob = (digest: string) => path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const oci = JSON.parse(readFileSync(blob(entry.digest), 'utf8')) as { config: Descriptor; layers: Descriptor[] };
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { ...oci.config, mediaType: 'application/vnd.docker.container.image.v1+json' },
    layers: oci.layers.map((layer) => {
      const mediaType = DOCKER_LAYER[layer.mediaType];
      if (!mediaType) throw new Error(`no Docker schema 2 media type for ${layer.mediaType}`);
      return { ...layer, mediaType };
    }),
  };
  const { dir, remove } = tempDir('v2s2');
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const digest of [oci.config.digest, ...oci.layers.map((l) => l.digest)]) {
    const to = path.join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
    try {
      linkSync(blob(digest), to);
    } catch {
      copyFileSync(blob(digest), to);
    }
  }
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(bytes);
  writeLayout(dir, {
    v2s2: { manifest: { mediaType: manifest.mediaType, digest, size: bytes.length }, config: {} as ImageConfig, blobs: new Map([[digest, bytes]]) },
  });
  return { dir, ref: 'v2s2', remove };
}

/**
 * `oci pull ref` into the store `store` (as a user runs it); returns the name the store gives
 * the image (the normalised reference).
 */
export function pullImage(ref: string, store: string): string {
  const result = spawnSync(process.execPath, [ociBin, '--store', store, 'pull', '--quiet', ref], {
    encoding: 'utf8',
    env: { ...process.env, OCI_REGISTRY_MIRRORS: '' },
  });
  if (result.status !== 0) throw new Error(`oci pull ${ref} failed: ${result.stderr || result.error}`);
  return ref.includes('@') || /:[^/]+$/.test(ref) ? ref : `${ref}:latest`;
}
