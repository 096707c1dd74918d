/** `oci snapshots`: each snapshot, what it takes on disk, and which images and bundles use it. */
import type { Store } from '../store/layout.js';
import { diskUsage } from './disk-usage.js';
import { committedSnapshots, imageChains } from './gc.js';
import { SNAPSHOT_FORMS, type SnapshotForm, SnapshotLayout } from './layout.js';
import { recordedUsers } from './users.js';

export interface SnapshotSummary {
  chainId: string;
  /** How it holds overlayfs' attributes: root's snapshots (trusted) or an unprivileged user's (user). */
  form: SnapshotForm;
  /** Bytes its files take on disk (blocks, each inode once), counted now. */
  size: number;
  /** Names of the images whose chains hold it. */
  images: string[];
  /** Bundles whose config.json mounts it. */
  bundles: string[];
}

export async function listSnapshots(store: Store): Promise<SnapshotSummary[]> {
  const images = await imageChains(store);
  const summaries: SnapshotSummary[] = [];
  for (const form of SNAPSHOT_FORMS) {
    const layout = new SnapshotLayout(store.dir, form);
    const bundles = new Map<string, string[]>();
    for (const [bundle, chains] of await recordedUsers(layout)) for (const id of chains) bundles.set(id, [...(bundles.get(id) ?? []), bundle]);
    for (const chainId of await committedSnapshots(layout)) {
      summaries.push({ chainId, form, size: diskUsage(layout.fs(chainId)), images: images.get(chainId) ?? [], bundles: bundles.get(chainId) ?? [] });
    }
  }
  return summaries;
}
