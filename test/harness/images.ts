/**
 * Builds test images by hand: tar layers from entry lists (any entry type, hostile ones
 * included), an OCI image layout around them, and a push of that layout to a registry.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Descriptor, ImageConfig } from '@oci/image';
import { pack, type Header } from 'tar-stream';

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
    const content = type === 'file' ? Buffer.from(entry.content ?? '') : Buffer.alloc(0);
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
export function buildImage(layers: readonly Buffer[], config: Omit<ImageConfig, 'rootfs'> = { architecture: 'amd64', os: 'linux' }): BuiltImage {
  const blobs = new Map<string, Buffer>();
  const add = (data: Buffer, mediaType: string): Descriptor => {
    const digest = sha256(data);
    blobs.set(digest, data);
    return { mediaType, digest, size: data.length };
  };
  const layerDescriptors = layers.map((tar) => add(gzipSync(tar), 'application/vnd.oci.image.layer.v1.tar+gzip'));
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
    manifest: { ...manifestDescriptor, platform: { architecture: config.architecture, os: config.os } },
    config: imageConfig,
    blobs,
  };
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
 * Pushes `layout:ref` to `host/repository:tag` with skopeo (a peer, used until `oci push`
 * exists). `format: 'v2s2'` converts to Docker's schema 2 media types on the way.
 */
export function pushLayout(layout: string, ref: string, target: string, format: 'oci' | 'v2s2' = 'oci'): void {
  const result = spawnSync(
    'skopeo',
    ['copy', '--quiet', '--dest-tls-verify=false', `--format=${format}`, `oci:${layout}:${ref}`, `docker://${target}`],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`skopeo copy to ${target} failed: ${result.stderr || result.error}`);
}
