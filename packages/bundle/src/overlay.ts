/**
 * A bundle whose rootfs is an overlay of the image's layer snapshots: O(1) in the image's size.
 * The writable layer is the bundle's own (BUNDLE/upper, BUNDLE/work); the snapshots are shared.
 *
 * The overlay is not mounted on the host: it is config.json's first mount,
 *   { destination: "/", type: "overlay", options: [lowerdir=…, upperdir=BUNDLE/upper, workdir=…] }
 * which the runtime mounts inside the container's own mount namespace (ours, and runc too). So
 * it vanishes with the container, a kill -9 at any point leaves no mount behind, and `rm -rf
 * BUNDLE` removes the bundle whole; `oci gc` then frees snapshots nothing else uses. The price:
 * BUNDLE/rootfs stays an empty directory on the host (the mount point), so a tool that reads or
 * edits the rootfs from the host, or a bundle that must be moved or archived, needs the full
 * copy (`createBundle`), which stays the default of `oci unpack`.
 *
 * An unprivileged user gets the same where the kernel lets an unprivileged user mount an overlay
 * in a user namespace (with `userxattr`): its snapshots in user.overlay form, made through
 * overlays in a user namespace of its own, mounted in its container's; with a rootless
 * config.json, and files owned by the user, as a rootless unpack makes them.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { SkippedItem, Store, StoredImage, UnpackProgress } from '@oci/image';
import { nativeAddon } from '@oci/image/internal/native';
import { removeTree } from '@oci/image/internal/remove-tree';
import { chainIds } from '@oci/image/internal/snapshot/chain';
import { SnapshotLayout } from '@oci/image/internal/snapshot/layout';
import { mountReadOnly } from '@oci/image/internal/snapshot/overlay';
import { prepareSnapshots } from '@oci/image/internal/snapshot/prepare';
import { copyRootAttributes } from '@oci/image/internal/snapshot/root-attributes';
import { addUser, removeUser } from '@oci/image/internal/snapshot/users';
import { readImage } from '@oci/image/store/image';
import type { Mount, Platform, Spec } from '@oci/specs';
import { makeBundleDir, makeVolumeDirs, OVERLAY_DIRS, volumeDirs, withBundleLock, writeConfig } from './create.js';
import { BundleError } from './errors.js';
import { type SpecOptions, specFromImage } from './from-image.js';

/** The image library's native addon (this package does not load @oci/native itself). */
type Addon = NonNullable<Awaited<ReturnType<typeof nativeAddon>>>;

/** mount(2) takes its options in one page; the overlay's lowerdir list must fit in it. */
const MOUNT_DATA_MAX = 4095;

export interface OverlayBundleOptions extends Omit<SpecOptions, 'rootfs' | 'uidMappings' | 'gidMappings'> {
  /** Replace a bundle that is already there. */
  force?: boolean;
  onProgress?(progress: UnpackProgress): void;
  onSkip?(item: SkippedItem): void;
  /** The native addon (overlay mounts); default: loaded. */
  addon?: Addon | null;
  /** Change the generated config.json before it is written (run's -v, --memory…). */
  edit?(spec: Spec): void;
  /**
   * The caller made the bundle directory itself, just now, so no other unpack can be at work in
   * it: no bundle lock (which costs `oci run IMAGE` node:net and a socket).
   */
  ownDirectory?: boolean;
}

export interface OverlayBundleResult {
  spec: Spec;
  image: StoredImage;
  skipped: SkippedItem[];
  /** Layers applied into new snapshots by this call (0: the image was unpacked before). */
  applied: number;
}

/**
 * Makes `bundle` (config.json, an empty rootfs/ mount point, upper/ and work/) from `image` in
 * `store` (a name, or the image already read), preparing the snapshots it lacks.
 */
export async function createOverlayBundle(
  source: { store: Store; image: string | StoredImage; platform?: Platform },
  bundle: string,
  options: OverlayBundleOptions = {},
): Promise<OverlayBundleResult> {
  const dir = path.resolve(bundle);
  if (options.ownDirectory) return makeOverlayBundle(source, dir, options);
  makeBundleDir(dir);
  return withBundleLock(dir, () => makeOverlayBundle(source, dir, options));
}

async function makeOverlayBundle(
  source: { store: Store; image: string | StoredImage; platform?: Platform },
  dir: string,
  options: OverlayBundleOptions,
): Promise<OverlayBundleResult> {
  const { store } = source;
  const addon = options.addon !== undefined ? options.addon : await nativeAddon();
  if (!addon) throw new BundleError('EBUNDLE', 'an overlay rootfs needs the native addon (overlay mounts): it is not built');
  const image = typeof source.image === 'string' ? await readImage(store, source.image, source.platform) : source.image;
  const layout = new SnapshotLayout(store.dir);
  const chains = chainIds(image.config.rootfs.diff_ids);
  const overlay = overlayMount(chains.map((id) => layout.fs(id)).reverse(), dir, layout.unprivileged);
  prepareDirectory(dir, options.force ?? false);
  // Recorded first: from here gc keeps the chain for this bundle (see snapshot/users.ts), and the
  // preparation below, which looks for the snapshots after this, takes a store lease only when
  // one is missing. A bundle of an image unpacked before costs a few stats.
  addUser(layout, dir, chains);
  try {
    return await makeWritableLayer(store, image, dir, overlay, layout, addon, options);
  } catch (error) {
    // Nothing half-made stays, nor a record holding snapshots for a bundle that is not there.
    for (const name of ['config.json', 'rootfs', ...OVERLAY_DIRS]) removeTree(path.join(dir, name));
    removeUser(layout, dir);
    throw error;
  }
}

/** The snapshots prepared, the bundle's writable layer and mount point made, config.json written. */
async function makeWritableLayer(
  store: Store,
  image: StoredImage,
  dir: string,
  overlay: Mount,
  layout: SnapshotLayout,
  addon: Addon,
  options: OverlayBundleOptions,
): Promise<OverlayBundleResult> {
  const skipped: SkippedItem[] = [];
  const prepared = await prepareSnapshots(store, image, {
    addon,
    onProgress: options.onProgress,
    onSkip(item) {
      skipped.push(item);
      options.onSkip?.(item);
    },
  });
  const upper = path.join(dir, 'upper');
  mkdirSync(upper, { mode: 0o755 });
  mkdirSync(path.join(dir, 'work'), { mode: 0o700 });
  mkdirSync(path.join(dir, 'rootfs'), { mode: 0o755 });
  copyRootAttributes(prepared.lower[0]!, upper, addon, { owner: !layout.unprivileged });

  // The image's User is looked up in its own /etc/passwd: read through a view of the snapshots.
  const view = mountReadOnly(addon, prepared.lower, layout);
  let spec: Spec;
  try {
    // Unprivileged: a rootless config.json (a user namespace mapping us to root), as a rootless unpack writes.
    spec = specFromImage(image.config, { ...options, rootless: layout.unprivileged, rootfs: view.root });
  } finally {
    view.close();
  }
  spec.mounts = [overlay, ...(spec.mounts ?? [])];
  options.edit?.(spec);
  makeVolumeDirs(dir, volumeDirs(dir, spec));
  writeConfig(dir, spec);
  return { spec, image, skipped, applied: prepared.applied };
}

/** config.json's first mount: the snapshots (topmost first) under the bundle's writable layer. */
function overlayMount(lower: readonly string[], dir: string, unprivileged: boolean): Mount {
  const unsafe = [...lower, dir].find((p) => /[:,]/.test(p));
  if (unsafe !== undefined) throw new BundleError('EBUNDLE', `an overlay cannot name ${unsafe}: ':' and ',' separate its options`);
  // userxattr: the snapshots an unprivileged user made, for the overlay its container's user namespace may mount.
  const options = [`lowerdir=${lower.join(':')}`, `upperdir=${dir}/upper`, `workdir=${dir}/work`, 'index=off', ...(unprivileged ? ['userxattr'] : [])];
  const length = options.join(',').length;
  if (length > MOUNT_DATA_MAX)
    throw new BundleError(
      'EBUNDLE',
      `${lower.length} layers make overlay options of ${length} bytes, more than mount(2) takes (${MOUNT_DATA_MAX}): use a full copy`,
    );
  return { destination: '/', type: 'overlay', source: 'overlay', options };
}

/** The bundle directory, made (0700) or emptied of an old bundle when `force` allows it. */
function prepareDirectory(dir: string, force: boolean): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const held = ['config.json', 'rootfs', ...OVERLAY_DIRS].filter((name) => existsSync(path.join(dir, name)));
  const rootfs = path.join(dir, 'rootfs');
  const occupied = held.some((name) => name !== 'rootfs') || (held.includes('rootfs') && readdirSync(rootfs).length > 0);
  if (occupied && !force) throw new BundleError('EBUNDLE', `${dir} already holds a bundle: use --force to replace it`);
  for (const name of held) rmSync(path.join(dir, name), { recursive: true, force: true });
}
