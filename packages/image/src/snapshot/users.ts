/**
 * Bundles that use snapshots, as gc sees them: snapshots/users/ID, one JSON record per bundle
 * directory, `{ bundle, chains }`, written before the bundle's config.json. A record holds its
 * chains while its bundle directory exists and its config.json, once there, still mounts
 * snapshots; once the bundle is gone (`rm -rf BUNDLE` is enough) or mounts none, gc drops the
 * record. No process needs to stay alive to hold it, and none can forget to release it.
 *
 * A bundle of snapshots that are all there is made without a store lease (the warm path of
 * `oci run IMAGE`, a few stats): its maker writes the record, then checks that the snapshots
 * still exist, and gc moves a snapshot to its trash first and reads the records again before it
 * deletes (gc.ts). Either the maker sees the snapshot gone (and prepares it again, under a
 * lease) or gc sees the record (and puts the snapshot back).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { digestOf } from '../digest.js';
import { fsp } from '../fs-promises.js';
import type { SnapshotLayout } from './layout.js';

interface UserRecord {
  /** The bundle directory (absolute). */
  bundle: string;
  /** The chain IDs of the snapshots it mounts. */
  chains: string[];
}

/** The record's name: one per bundle directory, whatever made it. */
export const recordName = (bundle: string) => digestOf(bundle).slice('sha256:'.length, 'sha256:'.length + 32);

/**
 * Records `bundle` (an absolute path) as a user of the snapshots `chains`. Synchronous, as
 * removeUser: they are on the path of every `oci run IMAGE`, where trips through the thread pool
 * cost more than these few small syscalls.
 */
export function addUser(layout: SnapshotLayout, bundle: string, chains: readonly string[]): void {
  mkdirSync(layout.users, { recursive: true });
  const record = path.join(layout.users, recordName(bundle));
  const temp = `${record}.${process.pid}`;
  writeFileSync(temp, JSON.stringify({ bundle, chains: [...chains] } satisfies UserRecord));
  renameSync(temp, record);
}

/** Forgets `bundle` (it was removed). */
export function removeUser(layout: SnapshotLayout, bundle: string): void {
  try {
    unlinkSync(path.join(layout.users, recordName(bundle)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * The chain IDs that recorded bundles hold now, by bundle; with `prune`, records whose bundle
 * holds none are removed (gc, once every writer's lease is over).
 */
export async function recordedUsers(layout: SnapshotLayout, { prune = false } = {}): Promise<Map<string, string[]>> {
  const users = new Map<string, string[]>();
  const names = await fsp()
    .readdir(layout.users)
    .catch(() => [] as string[]);
  for (const name of names.filter((n) => /^[0-9a-f]{32}$/.test(n))) {
    const file = path.join(layout.users, name);
    const record = await fsp()
      .readFile(file, 'utf8')
      .then(
        (text) => JSON.parse(text) as UserRecord,
        () => undefined,
      );
    const chains = record ? heldChains(layout, record) : [];
    if (chains.length > 0) users.set(record!.bundle, chains);
    else if (prune)
      await fsp()
        .unlink(file)
        .catch(() => undefined);
  }
  return users;
}

/** What a record holds: its chains while the bundle is being made, what its config.json mounts once made. */
function heldChains(layout: SnapshotLayout, { bundle, chains }: UserRecord): string[] {
  if (typeof bundle !== 'string' || !Array.isArray(chains) || !existsSync(bundle)) return [];
  const config = path.join(bundle, 'config.json');
  if (!existsSync(config)) return chains;
  return overlayLower(config).flatMap((dir) => layout.chainIdOf(dir) ?? []);
}

/** The lowerdirs of the overlay a bundle's config.json mounts on "/", if it mounts one. */
export function overlayLower(configFile: string): string[] {
  let spec: { mounts?: { destination?: unknown; type?: unknown; options?: unknown }[] };
  try {
    spec = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch {
    return [];
  }
  const root = Array.isArray(spec?.mounts) ? spec.mounts.find((m) => m?.destination === '/' && m.type === 'overlay') : undefined;
  const options = Array.isArray(root?.options) ? root.options : [];
  const lowerdir = options.find((o): o is string => typeof o === 'string' && o.startsWith('lowerdir='));
  return lowerdir === undefined ? [] : lowerdir.slice('lowerdir='.length).split(':');
}
