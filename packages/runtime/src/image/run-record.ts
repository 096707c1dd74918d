/**
 * run.json, beside the config.json of a bundle `runImage` made: the bundle is ours to remove, with
 * its container (`oci delete`) or when its foreground run ends. Apart from the rest of runImage
 * so that `oci delete` reads it without loading what makes bundles.
 */
import { type Dirent, readdirSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { removeTree } from '@oci/image/internal/remove-tree';
import { SnapshotLayout } from '@oci/image/internal/snapshot/layout';
import { removeUser } from '@oci/image/internal/snapshot/users';
import { readProcessStat } from '../state/status.js';

/** What run.json records. */
export interface RunRecord {
  /** The store whose snapshots the bundle mounts. */
  store: string;
  /** Removed when its foreground run ends (not kept by --name or -d). */
  remove: boolean;
  /** The process that made it, by pid and start time (a pid alone may be reused). */
  owner: { pid: number; startTime: string };
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
export function removeContainerBundle(dir: string): void {
  const record = readRunRecord(dir);
  try {
    removeFiles(dir);
  } catch {
    removeTree(dir); // a directory of mode 0 on the way (an overlay's workdir, unprivileged), say
  }
  if (record) removeUser(new SnapshotLayout(record.store), dir);
}

/**
 * A bundle is a handful of files and the few its container wrote in its upper: removed here
 * without Node's recursive rmSync, whose rimraf module alone costs every `oci run IMAGE` more.
 */
function removeFiles(dir: string): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) removeFiles(child);
    else unlinkSync(child);
  }
  rmdirSync(dir);
}

/** The record for a bundle this process makes now. */
export function newRunRecord(store: string, remove: boolean): RunRecord {
  return { store, remove, owner: { pid: process.pid, startTime: readProcessStat(process.pid)!.startTime } };
}

/** Whether the process that made the bundle has ended (killed, say) without removing it. */
export function abandoned(record: RunRecord): boolean {
  if (!record.remove) return false;
  const owner = readProcessStat(record.owner?.pid ?? 0);
  return owner === undefined || owner.startTime !== record.owner.startTime;
}
