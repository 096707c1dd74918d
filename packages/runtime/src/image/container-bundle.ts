/**
 * The bundles of containers `runImage` makes: STORE/containers/ID, with config.json made from the
 * image and an overlay of its snapshots as the rootfs (a full copy where an overlay cannot be
 * had, and the caller is told which). `run.json` beside config.json says the bundle is ours to
 * remove: with the container (`oci delete`), or, for a foreground run, when it ends; a run killed
 * before it could leaves one whose owner is gone, which the next run sweeps (run-record.ts).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createBundle, writeConfig } from '@oci/bundle/create';
import { createOverlayBundle, type OverlayBundleOptions } from '@oci/bundle/overlay';
import type { Store, StoredImage, UnpackProgress } from '@oci/image';
import { nativeAddon } from '@oci/image/internal/native';
import type { Spec } from '@oci/specs';
import { RuntimeError } from '../errors.js';
import { abandoned, newRunRecord, RUN_RECORD, readRunRecord, removeContainerBundle } from './run-record.js';

/** How a container's rootfs was made. */
export type RootfsKind = 'overlay' | 'copy';

export const containersDir = (store: Store) => path.join(store.dir, 'containers');

export interface ContainerBundleOptions extends Pick<OverlayBundleOptions, 'args' | 'entrypoint' | 'env' | 'cwd' | 'user' | 'tty'> {
  /** How to make the rootfs (rootfsChoice's answer). */
  rootfs: RootfsChoice;
  remove: boolean;
  /** Changes to the config.json made from the image (run's options). */
  edit(spec: Spec): void;
  onProgress?(progress: UnpackProgress): void;
}

export interface ContainerBundle {
  dir: string;
  rootfs: RootfsKind;
  /** Why not an overlay, when it is a copy. */
  reason?: string;
}

export async function createContainerBundle(store: Store, image: StoredImage, id: string, options: ContainerBundleOptions): Promise<ContainerBundle> {
  const dir = path.join(containersDir(store), id);
  mkdirSync(containersDir(store), { recursive: true, mode: 0o700 });
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntimeError('EEXIST', `container ${id} already exists (its bundle is ${dir})`);
    throw error;
  }
  try {
    writeFileSync(path.join(dir, RUN_RECORD), JSON.stringify(newRunRecord(store.dir, options.remove)));
    let { reason } = options.rootfs;
    if (options.rootfs.kind === 'overlay') {
      try {
        await createOverlayBundle({ store, image }, dir, { ...options, force: true, ownDirectory: true });
        return { dir, rootfs: 'overlay' };
      } catch (error) {
        reason = overlayRefused(error, options.rootfs);
        if (reason === undefined) throw error;
      }
    }
    const { spec } = await store.lease(() => createBundle({ store, image: image.name, platform: image.descriptor.platform }, dir, { ...options, force: true }));
    options.edit(spec);
    writeConfig(dir, spec);
    return { dir, rootfs: 'copy', reason };
  } catch (error) {
    removeContainerBundle(dir);
    throw error;
  }
}

export interface RootfsChoice {
  kind: RootfsKind;
  /** Why a copy. */
  reason?: string;
  /** An overlay was asked for: no copy instead. */
  required?: boolean;
}

/**
 * An overlay of the snapshots where this process can have one (`wanted` auto), or what was asked
 * for. Unprivileged, whether the kernel allows an overlay in a user namespace shows only when
 * one is tried (overlayRefused).
 */
export async function rootfsChoice(wanted: 'auto' | RootfsKind = 'auto'): Promise<RootfsChoice> {
  if (wanted === 'copy') return { kind: 'copy', reason: 'asked for' };
  if (await nativeAddon()) return { kind: 'overlay', required: wanted === 'overlay' };
  if (wanted === 'overlay') throw new RuntimeError('EINVALID', 'an overlay rootfs cannot be had: the native addon is not built');
  return { kind: 'copy', reason: 'the native addon is not built' };
}

/** Why a copy after all, when `error` is the kernel refusing an unprivileged overlay and a copy will do; else undefined. */
function overlayRefused(error: unknown, choice: RootfsChoice): string | undefined {
  const { code, syscall } = error as NodeJS.ErrnoException;
  if (choice.required || process.geteuid!() === 0 || syscall !== 'mount overlay in a user namespace') return undefined;
  return `the kernel refused an overlay in a user namespace (${code})`;
}

/**
 * Ids of the containers of foreground runs in `store` that were killed before they could remove
 * their bundle: meant to be removed, and their run's process is gone.
 */
export function abandonedRuns(store: Store): string[] {
  const dir = containersDir(store);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((id) => {
    const record = readRunRecord(path.join(dir, id));
    return record !== undefined && abandoned(record);
  });
}
