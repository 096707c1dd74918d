/**
 * Snapshots made the way containerd's overlayfs snapshotter makes them: layer n is applied onto
 * the mounted view of the layers below it. An overlay (lower: the committed snapshots of the
 * chain, upper: the new snapshot's directory) is mounted detached, and the very applier of a full
 * unpack (layer/apply.ts: RESOLVE_IN_ROOT, whiteouts applied as deletions) runs on its merged
 * view. overlayfs itself then writes whiteouts (0/0 character devices) and opaque directories
 * into the upper, and whatever makes a layer depend on the ones below it (a parent that is a
 * symlink planted lower down, a hardlink to a lower file, an opaque directory, a directory over a
 * lower file) behaves exactly as in a full unpack, because the same code runs on the same view.
 * The bottom layer, with nothing below it to hide or link to, is applied into a plain directory
 * (an overlay costs each of its many entries a little more); there overlayfs' own xattrs that an
 * image holds (trusted.overlay.opaque on a directory, say) are stored escaped, as an overlay
 * stores them when they are set through it, so that they are the image's attributes in the
 * merged view and never instructions to the overlay.
 *
 * A layer that links to a lower file with other names is applied with the overlay's inode index
 * on, which keeps that group whole (hardlinks.ts). An unprivileged user's overlays are made in a
 * user namespace of its own, with userxattr and no index (layout.ts, SnapshotForm).
 *
 * Commit: the upper is renamed to snapshots/ALG/HEX only after the layer's diff_id matched and
 * its blob's digest did (when it landed in the store, or, for a layer applied as it downloads,
 * before its stream ended). Until then it lives in this writer's lease directory: a process
 * killed at any point leaves only that, which the next preparation or gc removes. One process at
 * a time prepares a chain ID (a store lock); the others wait and find it made.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { NativeAddon } from '@oci/native';
import { ImageError } from '../errors.js';
import { fsp } from '../fs-promises.js';
import { type ApplyOptions, LayerApplier, type SkippedItem } from '../layer/apply.js';
import { inLayer, openLayer, type SourceLayer, storeLayers, type UnpackProgress } from '../layer/unpack.js';
import { nativeAddon } from '../native.js';
import { removeTree } from '../remove-tree.js';
import type { StoredImage } from '../store/image.js';
import type { Store } from '../store/layout.js';
import { chainIds } from './chain.js';
import { completeHardlinks, HardlinkWatchingApplier, NeedsIndex } from './hardlinks.js';
import { type SnapshotInfo, SnapshotLayout } from './layout.js';
import { escapeOverlayXattr, mountDetached } from './overlay.js';
import { copyRootAttributes } from './root-attributes.js';

export interface PrepareOptions {
  /** Told about each layer applied now (snapshots already there are not applied again). */
  onProgress?(progress: UnpackProgress): void;
  /** Xattrs the image holds that could not be set (overlayfs' own, say). */
  onSkip?(item: SkippedItem): void;
  /** The native addon; snapshots need its overlay mounts. Default: loaded. */
  addon?: NativeAddon | null;
  /**
   * Where layer `index`'s stored bytes come from, when not the store's blob: a download in
   * flight (pull's `snapshots`), whose stream ends only once the blob's digest matched.
   */
  layerBytes?(index: number): AsyncIterable<Uint8Array> | Promise<AsyncIterable<Uint8Array>>;
  /** Stops the preparation (the layer being applied is not committed), as it stops an unpack. */
  signal?: AbortSignal;
}

export interface PreparedImage {
  /** The chain ID of every layer, bottom first. */
  chainIds: string[];
  /** The snapshots' directories as an overlay's lowerdir wants them: topmost first. */
  lower: string[];
  /** How many layers were applied by this call (0: every snapshot was there). */
  applied: number;
}

/**
 * Makes sure every snapshot of `image`'s chain exists, applying the missing layers in order
 * (inside a store lease, which gc waits for). When every snapshot is there it costs a few stats
 * and takes no lease: a caller that will mount them records its bundle first (users.ts), so that
 * gc keeps them.
 */
export async function prepareSnapshots(store: Store, image: Pick<StoredImage, 'manifest' | 'config'>, options: PrepareOptions = {}): Promise<PreparedImage> {
  const layout = new SnapshotLayout(store.dir);
  const ids = chainIds(image.config.rootfs.diff_ids);
  const lower = ids.map((id) => layout.fs(id)).reverse();
  const missing = () => ids.findIndex((id) => !existsSync(layout.fs(id)));
  if (missing() < 0) return { chainIds: ids, lower, applied: 0 };

  const addon = options.addon !== undefined ? options.addon : await nativeAddon();
  if (!addon) throw new ImageError('ELAYER', 'snapshots need the native addon (overlay mounts): it is not built');
  const { layerBytes } = options;
  const layers = storeLayers({ store }, image).map((layer, i) => (layerBytes ? { ...layer, stream: () => layerBytes(i) } : layer));
  return store.lease(async () => {
    await store.removeDeadLeases();
    await fsp().mkdir(layout.empty, { recursive: true, mode: 0o755 });
    let applied = 0;
    for (let i = missing(); i >= 0 && i < ids.length; i++) {
      await store.exclusive(`snapshot/${ids[i]}`, async () => {
        if (existsSync(layout.fs(ids[i]!))) return; // another process made it meanwhile
        await applySnapshot(
          store,
          layout,
          { layer: layers[i]!, index: i, count: ids.length, chainId: ids[i]!, below: lower.slice(ids.length - i) },
          addon,
          options,
        );
        applied++;
      });
    }
    return { chainIds: ids, lower, applied };
  });
}

interface SnapshotTask {
  layer: SourceLayer;
  /** 0-based position in the image, and the image's layer count, for progress and messages. */
  index: number;
  count: number;
  chainId: string;
  /** The committed snapshots below it, topmost first (none for the bottom layer). */
  below: readonly string[];
}

/** Applies one layer onto the view of the layers below it, into a temp upper; commits it by rename. */
async function applySnapshot(store: Store, layout: SnapshotLayout, task: SnapshotTask, addon: NativeAddon, options: PrepareOptions): Promise<void> {
  const temp = await store.leasePath('snapshot');
  const upper = path.join(temp, 'fs');
  const work = path.join(temp, 'work');
  const rootless = layout.unprivileged;
  try {
    if (task.below.length === 0) {
      await fsp().mkdir(upper, { recursive: true, mode: 0o755 });
      await applyLayer(task, new LayerApplier(upper, addon, applyOptions(escapingOverlayXattrs(addon), rootless, options)), addon, options);
    } else {
      await applyOverOverlay(task, { upper, work, rootless }, addon, options);
    }
    removeTree(work); // holds a directory of mode 0 an overlay made (unprivileged: ours, but shut)
    const info: SnapshotInfo = { diffId: task.layer.diffId!, created: new Date().toISOString() };
    await fsp().writeFile(path.join(temp, 'info.json'), JSON.stringify(info));
    const destination = layout.dir(task.chainId);
    await fsp().mkdir(path.dirname(destination), { recursive: true });
    await fsp().rename(temp, destination);
  } catch (error) {
    removeTree(temp);
    throw error;
  }
}

/**
 * A layer applied through an overlay of the snapshots below it: without the overlay's index, or,
 * when the layer links to a lower file with other names (NeedsIndex), again from a fresh upper
 * with it (hardlinks.ts). Unprivileged, the overlay is made in a user namespace, with userxattr
 * and never an index.
 */
async function applyOverOverlay(
  task: SnapshotTask,
  dirs: { upper: string; work: string; rootless: boolean },
  addon: NativeAddon,
  options: PrepareOptions,
): Promise<void> {
  const { upper, work, rootless } = dirs;
  const attempt = async (index: boolean) => {
    removeTree(upper);
    removeTree(work);
    await fsp().mkdir(upper, { recursive: true, mode: 0o755 });
    await fsp().mkdir(work);
    // An overlay shows its upper's root: it must carry the attributes of the merged root below.
    copyRootAttributes(task.below[0]!, upper, addon, { owner: !rootless });
    const view = mountDetached(addon, { lower: task.below, upper, work, index }, { unprivileged: rootless });
    try {
      const applyWith = applyOptions(addon, rootless, options);
      await applyLayer(
        task,
        index || rootless ? new LayerApplier(view.root, addon, applyWith) : new HardlinkWatchingApplier(view.root, addon, applyWith, upper),
        addon,
        options,
      );
      if (index) completeHardlinks(view.root, upper, work);
    } finally {
      view.close();
    }
  };
  try {
    await attempt(false);
  } catch (error) {
    if (!(error instanceof NeedsIndex)) throw error;
    await attempt(true);
  }
}

/** The addon, storing overlayfs' own xattrs escaped (trusted.overlay.X as trusted.overlay.overlay.X), as an overlay does. */
function escapingOverlayXattrs(addon: NativeAddon): NativeAddon {
  return { ...addon, lsetxattr: (path, name, value) => addon.lsetxattr(path, escapeOverlayXattr(name), value) };
}

function applyOptions(addon: NativeAddon, rootless: boolean, options: PrepareOptions): ApplyOptions {
  return { rootless, addon, skip: (item) => options.onSkip?.(item) };
}

async function applyLayer(task: SnapshotTask, applier: LayerApplier, addon: NativeAddon, options: PrepareOptions): Promise<void> {
  const { layer, index, count } = task;
  try {
    const opened = await openLayer(layer, addon, options.signal);
    await opened.applyTo(applier, (bytes, done) =>
      options.onProgress?.({ layer: index + 1, layers: count, digest: layer.digest, bytes, size: layer.size, entries: applier.entries, done }),
    );
  } catch (error) {
    applier.abort();
    throw inLayer(error, index + 1);
  }
}
