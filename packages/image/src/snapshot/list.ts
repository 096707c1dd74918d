/** `oci snapshots`: each snapshot, what it takes on disk, and which images and bundles use it. */
import { readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { Store } from '../store/layout.js';
import { committedSnapshots, imageChains, snapshotSize } from './gc.js';
import { SnapshotLayout } from './layout.js';
import { overlayLower } from './users.js';

export interface SnapshotSummary {
  chainId: string;
  /** Bytes on disk. */
  size: number;
  /** Names of the images whose chains hold it. */
  images: string[];
  /** Bundles whose config.json mounts it. */
  bundles: string[];
}

export async function listSnapshots(store: Store): Promise<SnapshotSummary[]> {
  const layout = new SnapshotLayout(store.dir);
  const images = await imageChains(store);
  const bundles = await bundlesByChain(layout);
  const ids = await committedSnapshots(layout);
  return ids.map((chainId) => ({ chainId, size: snapshotSize(layout, chainId), images: images.get(chainId) ?? [], bundles: bundles.get(chainId) ?? [] }));
}

async function bundlesByChain(layout: SnapshotLayout): Promise<Map<string, string[]>> {
  const byChain = new Map<string, string[]>();
  const names = await readdir(layout.users).catch(() => [] as string[]);
  for (const name of names) {
    const bundle = await readlink(path.join(layout.users, name)).catch(() => undefined);
    if (bundle === undefined) continue;
    for (const dir of overlayLower(path.join(bundle, 'config.json'))) {
      const id = layout.chainIdOf(dir);
      if (id !== undefined) byChain.set(id, [...(byChain.get(id) ?? []), bundle]);
    }
  }
  return byChain;
}
