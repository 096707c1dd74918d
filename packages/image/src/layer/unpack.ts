/**
 * The unpacker as a library: an image from the store, or any list of layer streams, applied in
 * order into a new directory. The tree is built in a sibling directory and renamed into place
 * when every layer applied and checked out, so `target` never holds half an image.
 */
import { chownSync, existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import type { NativeAddon } from '@oci/native';
import type { IdMapping, ImageConfig, Platform } from '@oci/specs';
import { throwIfAborted, unlessAborted } from '../abort.js';
import { parseDigest } from '../digest.js';
import { ImageError } from '../errors.js';
import { type Compression, layerCompression } from '../media-types.js';
import { nativeAddon } from '../native.js';
import { removeTree } from '../remove-tree.js';
import { readImage, type StoredImage } from '../store/image.js';
import type { Store } from '../store/layout.js';
import { newId } from '../store/lock.js';
import { LayerApplier, type SkippedItem } from './apply.js';
import { decompress } from './decompress.js';
import { mapId } from './ids.js';
import { TarReader } from './tar.js';

export interface LayerInput {
  /** The layer's bytes as stored (compressed or not), or a function that opens them when their turn comes. */
  stream: AsyncIterable<Uint8Array> | (() => AsyncIterable<Uint8Array> | Promise<AsyncIterable<Uint8Array>>);
  /** Its media type (OCI or Docker); when absent, the compression is taken from the first bytes. */
  mediaType?: string;
  /** The digest the uncompressed tar must have (the image config's rootfs.diff_ids[i]). */
  diffId?: string;
  /** Digest and size of the stored bytes, for progress events. */
  digest?: string;
  size?: number;
}

export type UnpackSource =
  /** The image named `image` in `store` (an index is resolved to `platform`, default this host's). */
  { store: Store; image: string; platform?: Platform } | { layers: readonly LayerInput[] };

export interface UnpackProgress {
  /** 1-based index of the layer being applied. */
  layer: number;
  layers: number;
  digest?: string;
  /** Stored (compressed) bytes of this layer read so far, and its size when known. */
  bytes: number;
  size?: number;
  /** Tar entries applied so far in this layer. */
  entries: number;
  done: boolean;
}

export interface UnpackOptions {
  /** No chown, devices skipped, modes as far as an unprivileged user may. Default: when not root. */
  rootless?: boolean;
  /** Store files under the host ids these maps give (a rootfs for a user-namespaced container). */
  uidMap?: readonly IdMapping[];
  gidMap?: readonly IdMapping[];
  onProgress?(progress: UnpackProgress): void;
  /** Devices, fifos or xattrs that could not be made here (rootless, or no native addon). */
  onSkip?(item: SkippedItem): void;
  /**
   * The native addon (kernel-confined path resolution, devices, fifos, xattrs). Default: loaded
   * when it was built. null: unpack without it (paths resolved here; those items skipped).
   */
  addon?: NativeAddon | null;
  /** Stops the unpack between two chunks of a layer; nothing is left behind (abort.ts). */
  signal?: AbortSignal;
}

export interface UnpackResult {
  /** The image unpacked, when the source was a store. */
  image?: StoredImage;
  config?: ImageConfig;
  entries: number;
  skipped: SkippedItem[];
}

/**
 * Unpacks `source` into `target`, which must not exist or be an empty directory. Throws
 * ImageError (ELAYER, ENOTFOUND, EMEDIATYPE, EDIGEST…) and then leaves nothing behind.
 */
export async function unpack(source: UnpackSource, target: string, options: UnpackOptions = {}): Promise<UnpackResult> {
  throwIfAborted(options.signal);
  const image = 'store' in source ? await readImage(source.store, source.image, source.platform) : undefined;
  const layers: readonly SourceLayer[] = image ? storeLayers(source as { store: Store }, image) : (source as { layers: readonly LayerInput[] }).layers;
  const addon = options.addon !== undefined ? options.addon : await nativeAddon();
  const rootless = options.rootless ?? process.geteuid?.() !== 0;

  const destination = path.resolve(target);
  checkTarget(destination);
  const work = `${destination}.partial-${newId()}`;
  mkdirSync(path.dirname(destination), { recursive: true });
  mkdirSync(work, 0o755);
  const skipped: SkippedItem[] = [];
  let entries = 0;
  try {
    // The rootfs belongs to the container's root (shifted by the maps), unless the image says otherwise.
    if (!rootless) chownSync(work, mapId(options.uidMap, 0, 'uid'), mapId(options.gidMap, 0, 'gid'));
    const rootDir = realpathSync(work);
    // Each layer is opened (and starts inflating, in its own thread) while the one before it is
    // applied: the applier's syscalls and the next layer's inflating overlap.
    const open = (layer: SourceLayer) => openLayer(layer, addon, options.signal);
    let upcoming = layers.length > 0 ? open(layers[0]!) : undefined;
    for (const [i, layer] of layers.entries()) {
      const current = upcoming!;
      upcoming = i + 1 < layers.length ? open(layers[i + 1]!) : undefined;
      const applier = new LayerApplier(rootDir, addon, {
        rootless,
        uidMap: options.uidMap,
        gidMap: options.gidMap,
        addon,
        skip(item) {
          skipped.push(item);
          options.onSkip?.(item);
        },
      });
      try {
        await (await current).applyTo(applier, (bytes, done) =>
          options.onProgress?.({ layer: i + 1, layers: layers.length, digest: layer.digest, bytes, size: layer.size, entries: applier.entries, done }),
        );
      } catch (error) {
        applier.abort();
        void upcoming?.then(
          (next) => next.close(),
          () => {},
        );
        throw inLayer(error, i + 1);
      }
      entries += applier.entries;
    }
    checkTarget(destination);
    if (existsSync(destination)) rmdirSync(destination); // an empty directory: checked just above
    renameSync(work, destination);
  } catch (error) {
    removeTree(work);
    throw unlessAborted(error, options.signal);
  }
  return { image, config: image?.config, entries, skipped };
}

/** A layer whose stream is open and whose first uncompressed bytes are already asked for. */
export interface OpenedLayer {
  /** Feeds the whole layer to `applier`, checks its diff_id, and closes it. */
  applyTo(applier: LayerApplier, progress: (bytes: number, done: boolean) => void): Promise<void>;
  close(): Promise<void>;
}

// Not awaited by the caller until the layer's turn: its errors then surface as that layer's.
export function openLayer(layer: SourceLayer, addon: NativeAddon | null, signal: AbortSignal | undefined): Promise<OpenedLayer> {
  const opened = openNow(layer, addon, signal);
  opened.catch(() => {}); // handled when awaited; a layer never reached must not crash the process
  return opened;
}

async function openNow(layer: SourceLayer, addon: NativeAddon | null, signal: AbortSignal | undefined): Promise<OpenedLayer> {
  const compression = compressionOf(layer);
  const stored = typeof layer.stream === 'function' ? await layer.stream() : layer.stream;
  let bytes = 0;
  let report: ((bytes: number) => void) | undefined;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of stored) {
      throwIfAborted(signal);
      bytes += chunk.byteLength;
      yield chunk;
      report?.(bytes);
    }
  }
  const tar = decompress(counted(), compression, {
    algorithm: layer.diffId ? parseDigest(layer.diffId).algorithm : undefined,
    addon,
    ownedChunks: layer.ownedChunks,
  });
  const first = tar.next(); // starts inflating now
  first.catch(() => {});
  const close = async () => {
    await tar.return(undefined); // stops the inflating thread when the applier gave up early
    (stored as { destroy?: () => void }).destroy?.(); // a file stream left half-read keeps its fd
  };
  return {
    close,
    async applyTo(applier, progress) {
      report = (n) => progress(n, false);
      const reader = new TarReader(applier);
      let diffId: string | undefined;
      try {
        for (let next = await first; ; next = await tar.next()) {
          if (next.done) {
            diffId = next.value;
            break;
          }
          reader.feed(next.value);
        }
      } finally {
        await close();
      }
      reader.finish();
      applier.finish();
      if (layer.diffId && diffId !== layer.diffId) {
        throw new ImageError('ELAYER', `diff_id mismatch: the uncompressed layer is ${diffId}, the image config says ${layer.diffId}`);
      }
      progress(bytes, true);
    },
  };
}

function compressionOf(layer: LayerInput): Compression | 'auto' {
  if (layer.mediaType === undefined) return 'auto';
  const compression = layerCompression(layer.mediaType);
  if (!compression) throw new ImageError('EMEDIATYPE', `unknown layer media type ${layer.mediaType}`);
  return compression;
}

/** A layer to apply; from the store, its chunks are a file stream's own (see DecompressOptions). */
export type SourceLayer = LayerInput & { ownedChunks?: boolean };

export function storeLayers({ store }: { store: Store }, image: Pick<StoredImage, 'manifest' | 'config'>): SourceLayer[] {
  return image.manifest.layers.map((descriptor, i) => ({
    stream: () => store.openBlob(descriptor.digest),
    ownedChunks: true,
    mediaType: descriptor.mediaType,
    diffId: image.config.rootfs.diff_ids[i],
    digest: descriptor.digest,
    size: descriptor.size,
  }));
}

function checkTarget(target: string): void {
  let names: string[];
  try {
    names = readdirSync(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new ImageError('ELAYER', `${target}: ${code === 'ENOTDIR' ? 'not a directory' : (error as Error).message}`);
  }
  if (names.length > 0) throw new ImageError('ELAYER', `${target} is not empty`);
}

export function inLayer(error: unknown, layer: number): unknown {
  if (!(error instanceof ImageError)) return error;
  return new ImageError(error.code, `layer ${layer}: ${error.message}`, { cause: error });
}
