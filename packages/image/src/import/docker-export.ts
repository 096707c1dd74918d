/**
 * `docker export` archives: a container's flat filesystem as one tar. As an image, the tar is
 * its single (uncompressed) layer, under an image config made of what the caller says (Cmd,
 * Env, WorkingDir, User), as `docker import --change` would. The archive is read once, checked
 * as a tar on the way into the store.
 */
import { createReadStream } from 'node:fs';
import { ImageError } from '../errors.js';
import { MediaType } from '../media-types.js';
import type { ContainerConfig, Descriptor, ImageConfig, ImageManifest } from '../oci-types.js';
import { hostPlatform } from '../platform.js';
import { parseReference } from '../reference.js';
import type { Store } from '../store/layout.js';
import { TarReader } from '../layer/tar.js';

/** The image config for an exported filesystem: this host's platform and `config`. */
export function exportConfig(config: ContainerConfig, diffIds: string[] = []): ImageConfig {
  const { os, architecture, variant } = hostPlatform();
  return { created: new Date().toISOString(), os, architecture, ...(variant && { variant }), config, rootfs: { type: 'layers', diff_ids: diffIds }, history: [{ created_by: 'oci import --export' }] };
}

/** Stores the exported filesystem `file` as a one-layer image named `name`. */
export async function importDockerExport(store: Store, file: string, name: string, config: ContainerConfig = {}): Promise<Descriptor> {
  const ref = parseReference(name).toString();
  return store.lease(async () => {
    const check = new TarReader({ entry() {}, data() {}, end() {} });
    let layer: { digest: string; size: number };
    try {
      layer = await store.writeBlob(
        (async function* () {
          for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
            check.feed(chunk as Buffer);
            yield chunk as Buffer;
          }
          check.finish();
        })(),
      );
    } catch (error) {
      if (error instanceof ImageError) throw new ImageError('EIMPORT', `${file} is not a filesystem tar: ${error.message}`, { cause: error });
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError('EIMPORT', `${file}: no such file`);
      throw error;
    }
    const imageConfig = exportConfig(config, [layer.digest]);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: await store.writeJSON(imageConfig, MediaType.ociConfig),
      layers: [{ mediaType: MediaType.ociLayer, ...layer }],
    };
    const descriptor = { ...(await store.writeJSON(manifest, MediaType.ociManifest)), platform: { os: imageConfig.os, architecture: imageConfig.architecture } };
    await store.setRef(ref, descriptor);
    return descriptor;
  });
}
