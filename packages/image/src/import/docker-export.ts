/**
 * `docker export` archives: a container's flat filesystem as one tar. As an image, the tar is
 * its single (uncompressed) layer, under an image config made of what the caller says (Cmd,
 * Env, WorkingDir, User), as `docker import --change` would. The archive is read once, checked
 * as a tar on the way into the store, and refused when it is an image archive (`docker save`'s,
 * an oci-archive): unpacked as a filesystem, it would become a tree of blobs.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { type ContainerConfig, type Descriptor, type ImageConfig, type ImageManifest, MediaType } from '@oci/specs';
import { throwIfAborted, unlessAborted } from '../abort.js';
import { ImageError, storeError } from '../errors.js';
import { cleanPath } from '../layer/root.js';
import { TarReader } from '../layer/tar.js';
import { hostPlatform } from '../platform.js';
import type { ProgressListener } from '../progress.js';
import { parseReference } from '../reference.js';
import type { Store } from '../store/layout.js';

/** A manifest.json bigger than this is no docker save's. */
const MAX_MANIFEST_JSON = 1 << 20;

/** The image config for an exported filesystem: this host's platform and `config`. */
export function exportConfig(config: ContainerConfig, diffIds: string[] = []): ImageConfig {
  const { os, architecture, variant } = hostPlatform();
  return {
    created: new Date().toISOString(),
    os,
    architecture,
    ...(variant && { variant }),
    config,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [{ created_by: 'oci import --export' }],
  };
}

export interface ExportImportOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

/** Stores the exported filesystem `input` (a file, or a stream such as stdin) as a one-layer image named `name`. */
export async function importDockerExport(
  store: Store,
  input: string | Readable,
  name: string,
  config: ContainerConfig = {},
  options: ExportImportOptions = {},
): Promise<Descriptor> {
  const ref = parseReference(name).toString();
  const what = typeof input === 'string' ? input : '-';
  throwIfAborted(options.signal);
  try {
    return await store.lease(async () => {
      let layer: { digest: string; size: number };
      try {
        const size = typeof input === 'string' ? (await stat(input)).size : undefined;
        const source = typeof input === 'string' ? createReadStream(input, { highWaterMark: 1 << 20 }) : input;
        let done = 0;
        layer = await store.writeBlob(
          filesystemTar(source, what, (chunk) => {
            throwIfAborted(options.signal);
            options.onProgress?.({ type: 'read', what, done: (done += chunk.length), ...(size !== undefined && { size }) });
          }),
        );
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError('EIMPORT', `${what}: no such file`);
        throw error;
      }
      const imageConfig = exportConfig(config, [layer.digest]);
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: await store.writeJSON(imageConfig, MediaType.ociConfig),
        layers: [{ mediaType: MediaType.ociLayer, ...layer }],
      };
      const descriptor = {
        ...(await store.writeJSON(manifest, MediaType.ociManifest)),
        platform: { os: imageConfig.os, architecture: imageConfig.architecture },
      };
      await store.setRef(ref, descriptor, { pulled: new Date() });
      return descriptor;
    });
  } catch (error) {
    throw storeError(unlessAborted(error, options.signal), store.dir);
  }
}

/**
 * The bytes of `source`, a filesystem tar, as they come (`onChunk` sees each): EIMPORT when
 * they are not a tar, or, at their end, when the tar is an image archive (manifest.json listing
 * images, or an OCI layout) rather than a filesystem.
 */
export async function* filesystemTar(source: AsyncIterable<Uint8Array>, what: string, onChunk?: (chunk: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  let layout = 0;
  let manifestJson: Buffer[] | undefined;
  let manifestSize = 0;
  let current: string | undefined;
  const reader = new TarReader({
    entry(header) {
      current = header.type === 'file' ? cleanPath(header.path.toString()) : undefined;
      if (current === 'oci-layout' || current === 'index.json') layout++;
      if (current === 'manifest.json' && header.size <= MAX_MANIFEST_JSON) manifestJson = [];
    },
    data(chunk) {
      if (current !== 'manifest.json' || !manifestJson) return;
      manifestJson.push(Buffer.from(chunk));
      manifestSize += chunk.length;
    },
    end() {},
  });
  try {
    for await (const chunk of source) {
      onChunk?.(chunk);
      reader.feed(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      yield chunk;
    }
    reader.finish();
  } catch (error) {
    if (error instanceof ImageError && error.code === 'ELAYER')
      throw new ImageError('EIMPORT', `${what} is not a filesystem tar: ${error.message}`, { cause: error });
    throw error;
  }
  if (layout === 2 || (manifestJson && listsImages(Buffer.concat(manifestJson, manifestSize)))) {
    throw new ImageError('EIMPORT', `${what} is an image archive (as docker save writes), not a filesystem (as docker export writes)`);
  }
}

/** True for docker-archive's manifest.json: a list of images, each with its Config and Layers. */
function listsImages(json: Buffer): boolean {
  try {
    const entries = JSON.parse(json.toString('utf8')) as unknown;
    return Array.isArray(entries) && entries.length > 0 && entries.every((e) => typeof e?.Config === 'string' && Array.isArray(e.Layers));
  } catch {
    return false;
  }
}
