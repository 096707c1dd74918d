/**
 * run.json, beside the config.json of a bundle `runImage` made: the bundle is ours to remove, with
 * its container (`oci delete`) or when its foreground run ends. Apart from the rest of runImage
 * so that `oci delete` reads it without loading what makes bundles.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { SnapshotLayout } from '@oci/image/snapshot/layout';
import { removeUser } from '@oci/image/snapshot/users';

/** What run.json records. */
export interface RunRecord {
  /** The store whose snapshots the bundle mounts. */
  store: string;
  /** Removed when its foreground run ends (not kept by --name or -d). */
  remove: boolean;
}

export const RUN_RECORD = 'run.json';

/** The bundle's run.json, when it is a bundle runImage made. */
export function readRunRecord(dir: string): RunRecord | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, RUN_RECORD), 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}

/** Removes a container bundle runImage made, and its record among the snapshots' users. */
export async function removeContainerBundle(dir: string): Promise<void> {
  const record = readRunRecord(dir);
  rmSync(dir, { recursive: true, force: true });
  if (record) await removeUser(new SnapshotLayout(record.store), dir);
}
