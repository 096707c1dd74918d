/**
 * Snapshots seen from a test: the merged view of an image's prepared chain (a read-only overlay
 * attached nowhere) as a comparable tree, and a child process that prepares them (for races and
 * kill -9).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type PreparedImage, SnapshotLayout, type Store } from '@oci/image';
import { mountReadOnly } from '@oci/image/snapshot/overlay';
import { loadAddon } from '@oci/native';
import { snapshot, type Tree } from './tree.js';

/** The tree of the merged view of `prepared` (as a container would see the image). */
export function mergedTree(store: Store, prepared: PreparedImage): Tree {
  const view = mountReadOnly(loadAddon()!, prepared.lower, new SnapshotLayout(store.dir));
  try {
    return snapshot(view.root);
  } finally {
    view.close();
  }
}

const child = fileURLToPath(new URL('./snapshot-child.js', import.meta.url));

/** A process that prepares `image`'s snapshots in the store at `dir`, printing `{ applied }` as JSON. */
export function prepareInChild(dir: string, image: string): ChildProcess {
  return spawn(process.execPath, [child, dir, image], { stdio: ['ignore', 'pipe', 'pipe'] });
}
