/**
 * Snapshot garbage collection, part of Store.gc (under its lock, once every writer's lease is
 * over, so no preparation or bundle is half-made meanwhile): a snapshot stays while a named image
 * reaches its chain ID or a recorded bundle mounts it. One that goes is first renamed into
 * snapshots/trash/, so a gc killed while deleting never leaves a half-deleted snapshot where a
 * later run would stack it; trash left by such a gc goes at the next.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '@oci/specs';
import { isDigest } from '../digest.js';
import { isIndex, isManifest } from '../media-types.js';
import { readdirIfPresent } from '../read-dir.js';
import type { StoredDocuments } from '../store/gc.js';
import { newId } from '../store/lock.js';
import { chainIds } from './chain.js';
import { diskUsage } from './disk-usage.js';
import { SNAPSHOT_FORMS, SnapshotLayout } from './layout.js';
import { recordedUsers } from './users.js';

/** What snapshot gc reads of the store: where it is, its names and the documents they reach. */
export interface NamedImages extends Pick<StoredDocuments, 'readJSON'> {
  readonly dir: string;
  refs(): Promise<Map<string, Descriptor>>;
}

export async function collectSnapshots(store: NamedImages): Promise<{ removed: string[]; freed: number }> {
  const images = await imageChains(store);
  const collected = { removed: [] as string[], freed: 0 };
  for (const form of SNAPSHOT_FORMS) {
    const { removed, freed } = await collect(new SnapshotLayout(store.dir, form), images);
    collected.removed.push(...removed);
    collected.freed += freed;
  }
  return collected;
}

async function collect(layout: SnapshotLayout, images: Map<string, string[]>): Promise<{ removed: string[]; freed: number }> {
  await rm(layout.trash, { recursive: true, force: true });
  // Recipes name snapshots that may go now; the next overlay bundle made by Node writes its own again.
  await rm(layout.recipes, { recursive: true, force: true });
  const keep = new Set([...images.keys(), ...heldByUsers(await recordedUsers(layout, { prune: true }))]);
  const doomed = new Map<string, string>();
  for (const id of await committedSnapshots(layout)) {
    if (keep.has(id)) continue;
    await mkdir(layout.trash, { recursive: true });
    const trash = path.join(layout.trash, newId());
    await rename(layout.dir(id), trash);
    doomed.set(id, trash);
  }
  // A bundle made meanwhile without a lease (users.ts) may have recorded some: they go back.
  const reprieved = heldByUsers(await recordedUsers(layout));
  const removed: string[] = [];
  let freed = 0;
  for (const [id, trash] of doomed) {
    if (reprieved.has(id)) {
      await rename(trash, layout.dir(id));
      continue;
    }
    freed += diskUsage(trash);
    await rm(trash, { recursive: true, force: true });
    removed.push(id);
  }
  await rm(layout.trash, { recursive: true, force: true });
  return { removed, freed };
}

const heldByUsers = (users: Map<string, string[]>) => new Set([...users.values()].flat());

/** Every committed snapshot's chain ID. */
export async function committedSnapshots(layout: SnapshotLayout): Promise<string[]> {
  const ids: string[] = [];
  for (const algorithm of await readdirIfPresent(layout.root)) {
    for (const encoded of await readdirIfPresent(path.join(layout.root, algorithm))) {
      const id = `${algorithm}:${encoded}`;
      if (isDigest(id)) ids.push(id);
    }
  }
  return ids;
}

/** Chain IDs of every image a name in index.json reaches (each platform of an index). */
export async function imageChains(store: NamedImages): Promise<Map<string, string[]>> {
  const chains = new Map<string, string[]>();
  const visit = async (descriptor: Descriptor, name: string): Promise<void> => {
    if (!isIndex(descriptor.mediaType) && !isManifest(descriptor.mediaType)) return;
    try {
      const document = await store.readJSON<Partial<ImageIndex & ImageManifest>>(descriptor);
      if (isIndex(descriptor.mediaType)) {
        for (const child of document.manifests ?? []) await visit(child, name);
        return;
      }
      const config = await store.readJSON<Partial<ImageConfig>>(document.config!);
      for (const id of chainIds(config.rootfs!.diff_ids)) chains.set(id, [...(chains.get(id) ?? []), name]);
    } catch {
      // A damaged or partial image keeps what is known of it and no more, as for blobs.
    }
  };
  for (const [name, descriptor] of await store.refs()) await visit(descriptor, name);
  return chains;
}
