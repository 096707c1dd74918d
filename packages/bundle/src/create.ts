/**
 * A bundle from an image: BUNDLE/rootfs and BUNDLE/config.json. The bundle directory is created
 * 0700 (the rootfs may hold setuid files and secrets). A bundle is complete when config.json is
 * there, so it is written last, by rename; the rootfs is unpacked beside the old one and swapped
 * in only once it and its config are whole, so a failure leaves the bundle as it was.
 *
 * One unpack at a time works in a bundle directory: it holds the bundle's lock (released by the
 * kernel when its process dies, even by kill -9) from its check that no bundle is there to its
 * config.json. So of two racing into one directory, the second finds the first's bundle, and
 * whatever temp copies a lock holder finds are a dead unpack's, which it removes.
 */
import { chownSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SkippedItem, Store, StoredImage, UnpackOptions, UnpackSource } from '@oci/image';
// The modules themselves, not the package's index: `oci unpack` then loads no registry client.
import { mapId } from '@oci/image/internal/layer/ids';
import { removeTree } from '@oci/image/internal/remove-tree';
import { LockNames, newId, withLock } from '@oci/image/internal/store/lock';
import { unpack } from '@oci/image/layer/unpack';
import type { IdMapping, ImageConfig, Mount, Platform, Spec } from '@oci/specs';
import { BundleError } from './errors.js';
import { type SpecOptions, specFromImage, VOLUMES_DIR } from './from-image.js';

export interface BundleOptions
  extends Omit<SpecOptions, 'rootfs' | 'uidMappings' | 'gidMappings'>,
    Pick<UnpackOptions, 'onProgress' | 'onSkip' | 'addon' | 'signal'> {
  /** Replace a bundle that is already there (its config.json, a non-empty rootfs). */
  force?: boolean;
  uidMap?: IdMapping[];
  gidMap?: IdMapping[];
  /** The image config, when the source is a list of layers rather than a store. */
  config?: ImageConfig;
}

export interface BundleResult {
  spec: Spec;
  image?: StoredImage;
  skipped: SkippedItem[];
}

/** What an overlay bundle holds beside config.json and rootfs/: its writable layer. */
export const OVERLAY_DIRS = ['upper', 'work'];

export type BundleSource = UnpackSource | { store: Store; image: string; platform?: Platform };

export async function createBundle(source: BundleSource, bundle: string, options: BundleOptions = {}): Promise<BundleResult> {
  const dir = path.resolve(bundle);
  makeBundleDir(dir);
  return withBundleLock(dir, () => unpackInto(source, dir, options));
}

/** The bundle directory, made with its parents; one line naming the path in the way when it cannot be. */
export function makeBundleDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTDIR' && code !== 'EEXIST') throw error;
    // The nearest of dir and its parents that is there is the file in the way.
    let blocking = dir;
    while (!isThere(blocking)) blocking = path.dirname(blocking);
    throw new BundleError('EBUNDLE', `cannot make the bundle directory ${dir}: ${blocking} is not a directory`, { cause: error });
  }
}

/** Whether something is at the path; a path through a file (ENOTDIR) is not. */
function isThere(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` holding the lock of the bundle directory `dir` (which exists): one unpack at a time
 * works in it, so the temps it finds first are a dead unpack's.
 */
export async function withBundleLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const locks = await LockNames.of(dir, 'bundle');
  return withLock(locks.name('unpack'), () => {
    removeLeftovers(dir);
    return fn();
  });
}

async function unpackInto(source: BundleSource, dir: string, options: BundleOptions): Promise<BundleResult> {
  const rootfs = path.join(dir, 'rootfs');
  const configFile = path.join(dir, 'config.json');
  if (!options.force) {
    if (exists(configFile)) throw new BundleError('EBUNDLE', `${dir} already holds a bundle (config.json): use --force to replace it`);
    if (exists(rootfs) && readdirSync(rootfs).length > 0) throw new BundleError('EBUNDLE', `${rootfs} is not empty: use --force to replace it`);
  }

  const fresh = path.join(dir, `${TEMP_ROOTFS}${newId()}`);
  const rootless = options.rootless ?? process.geteuid?.() !== 0;
  const unpacked = await unpack(source, fresh, {
    rootless,
    uidMap: options.uidMap,
    gidMap: options.gidMap,
    onProgress: options.onProgress,
    onSkip: options.onSkip,
    addon: options.addon,
    signal: options.signal,
  });
  const old = exists(rootfs) ? path.join(dir, `${TEMP_ROOTFS}old-${newId()}`) : undefined;
  try {
    const config = unpacked.config ?? options.config;
    if (!config) throw new BundleError('ECONFIG', 'no image config to make config.json from');
    const spec = specFromImage(config, { ...options, rootless, rootfs: fresh, uidMappings: options.uidMap, gidMappings: options.gidMap });
    const volumes = volumeDirs(dir, spec);

    // The swap: from here the old bundle is incomplete (no config.json) until the new one is.
    rmSync(configFile, { force: true });
    if (old) renameSync(rootfs, old);
    renameSync(fresh, rootfs);
    makeVolumeDirs(dir, volumes);
    if (!rootless && (options.uidMap || options.gidMap)) giveToContainerRoot([dir, ...volumes], options);
    writeConfig(dir, spec);
    // A full copy replacing an overlay bundle (overlay.ts): its writable layer goes too.
    for (const name of OVERLAY_DIRS) rmSync(path.join(dir, name), { recursive: true, force: true });
    return { spec, image: unpacked.image, skipped: unpacked.skipped };
  } finally {
    // The new rootfs when it was not swapped in, the old one when it was.
    for (const temp of [fresh, old]) if (temp && exists(temp)) removeTree(temp);
  }
}

/** How the rootfs copies an unpack makes in the bundle directory begin (unpack's `.partial-` ones too). */
const TEMP_ROOTFS = '.rootfs-';
/** How the config.json being written begins (writeConfig). */
const TEMP_CONFIG = '.config.json-';

/** Removes the rootfs copies and config.json temps of unpacks killed before they finished (only ever called under the lock). */
function removeLeftovers(dir: string): void {
  for (const name of readdirSync(dir)) if (name.startsWith(TEMP_ROOTFS) || name.startsWith(TEMP_CONFIG)) removeTree(path.join(dir, name));
}

/**
 * The host directories backing the spec's volumes: children of BUNDLE/volumes, never anything
 * else, whatever the image's Volumes said (volumeSource normalised them; this holds it to that).
 */
export function volumeDirs(dir: string, spec: Spec): string[] {
  const parent = path.join(dir, VOLUMES_DIR);
  return (spec.mounts ?? []).filter(isVolume).map((mount) => {
    const volume = path.join(dir, mount.source!);
    if (path.dirname(volume) !== parent)
      throw new BundleError('ECONFIG', `volume ${mount.destination}: its directory ${mount.source} is not inside ${VOLUMES_DIR}/`);
    return volume;
  });
}

/** Creates BUNDLE/volumes and each volume's directory in it (kept when there from before), following no symlink. */
export function makeVolumeDirs(dir: string, volumes: string[]): void {
  if (volumes.length === 0) return;
  for (const volume of [path.join(dir, VOLUMES_DIR), ...volumes]) {
    try {
      mkdirSync(volume, 0o755);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !lstatSync(volume).isDirectory()) throw error;
    }
  }
}

/** Writes BUNDLE/config.json whole or not at all (a temp file renamed over it). */
export function writeConfig(bundle: string, spec: Spec, { overwrite = true } = {}): void {
  const file = path.join(bundle, 'config.json');
  if (!overwrite && exists(file)) throw new BundleError('EBUNDLE', `${file} exists: remove it first`);
  // One maker at a time works in a bundle directory (its lock, or a run's own new directory):
  // the temp name is this process's; what an earlier process of its pid left goes first.
  const temp = path.join(bundle, `${TEMP_CONFIG}${process.pid}`);
  try {
    rmSync(temp, { force: true });
    writeFileSync(temp, `${JSON.stringify(spec, null, '\t')}\n`, { mode: 0o644, flag: 'wx' });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/**
 * A user-namespaced container's root reaches its rootfs through the bundle directory (0700) and
 * writes to its volumes: both belong to the host ids container root maps to, as podman does.
 */
function giveToContainerRoot(dirs: string[], { uidMap, gidMap }: Pick<BundleOptions, 'uidMap' | 'gidMap'>): void {
  const uid = mapId(uidMap, 0, 'uid');
  const gid = mapId(gidMap, 0, 'gid');
  for (const dir of dirs) chownSync(dir, uid, gid);
}

function isVolume(mount: Mount): boolean {
  return mount.type === 'bind' && mount.source !== undefined && mount.source.startsWith(`${VOLUMES_DIR}/`);
}

function exists(file: string): boolean {
  return statSync(file, { throwIfNoEntry: false }) !== undefined;
}
