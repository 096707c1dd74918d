/**
 * Bundles that use snapshots, as gc sees them: each is recorded by a symlink in snapshots/users/
 * to its directory, made before its config.json (inside the writer's store lease, which gc waits
 * for). A record holds the snapshots its bundle's config.json mounts for as long as that file
 * mounts them; once the bundle is gone (`rm -rf BUNDLE` is enough) or mounts others, gc drops the
 * record. No process needs to stay alive to hold it, and none can forget to release it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readlink, rename, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { SnapshotLayout } from './layout.js';

/** The record's name: one per bundle directory, whatever made it. */
const recordName = (bundle: string) => createHash('sha256').update(bundle).digest('hex').slice(0, 32);

/** Records `bundle` (an absolute path) as a user of snapshots. */
export async function addUser(layout: SnapshotLayout, bundle: string): Promise<void> {
  await mkdir(layout.users, { recursive: true });
  const record = path.join(layout.users, recordName(bundle));
  const temp = `${record}.${process.pid}`;
  await unlink(temp).catch(() => undefined);
  await symlink(bundle, temp);
  await rename(temp, record);
}

/** Forgets `bundle` (it was removed). */
export async function removeUser(layout: SnapshotLayout, bundle: string): Promise<void> {
  await unlink(path.join(layout.users, recordName(bundle))).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/**
 * The chain IDs that recorded bundles mount now; records whose bundle mounts none are removed.
 * For gc, once every writer's lease is over.
 */
export async function usedChains(layout: SnapshotLayout): Promise<Set<string>> {
  const used = new Set<string>();
  let names: string[];
  try {
    names = await readdir(layout.users);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return used;
    throw error;
  }
  for (const name of names) {
    const record = path.join(layout.users, name);
    const bundle = await readlink(record).catch(() => undefined);
    const chains = bundle === undefined ? [] : overlayLower(path.join(bundle, 'config.json')).map((dir) => layout.chainIdOf(dir)).filter((id) => id !== undefined);
    if (chains.length === 0) await unlink(record).catch(() => undefined);
    for (const id of chains) used.add(id);
  }
  return used;
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
