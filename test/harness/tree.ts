/**
 * A directory tree as a comparable value: per path its type, mode, owner, size, content hash,
 * link target, device numbers, xattrs, mtime (files and symlinks) and hardlink group. Two unpacks
 * of the same image must give equal snapshots (ours against umoci's, in the tests). Names are
 * read as bytes: one that is not UTF-8 shows its bytes as \xNN, so no two names look alike.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { loadAddon } from '@oci/native';

export interface TreeEntry {
  type: 'file' | 'directory' | 'symlink' | 'character-device' | 'block-device' | 'fifo' | 'socket';
  /** Octal permission bits; absent for symlinks (always 0777 on Linux). */
  mode?: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  link?: string;
  rdev?: number;
  xattrs?: Record<string, string>;
  mtime?: number;
  /**
   * The first path (in walk order) of the inode's links, when more than one path of the tree
   * leads to it (a link count that counts names hidden from view, as an overlay's can, is not
   * a hardlink anyone can see).
   */
  hardlinkGroup?: string;
}

export type Tree = Record<string, TreeEntry>;

export interface SnapshotOptions {
  /** Leave out mtimes (for trees where they legitimately differ). */
  mtimes?: boolean;
}

export function snapshot(root: string, { mtimes = true }: SnapshotOptions = {}): Tree {
  const tree: Tree = {};
  const inodes = new Map<string, string[]>();
  const addon = loadAddon();
  const walk = (dir: Buffer, rel: string) => {
    for (const name of readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare)) {
      const full = Buffer.concat([dir, SLASH, name]);
      const key = rel ? `${rel}/${printable(name)}` : printable(name);
      const info = lstatSync(full);
      const entry: TreeEntry = { type: typeOf(info), mode: (info.mode & 0o7777).toString(8).padStart(4, '0'), uid: info.uid, gid: info.gid };
      if (info.isFile()) {
        entry.size = info.size;
        entry.sha256 = createHash('sha256').update(readFileSync(full)).digest('hex');
        if (info.nlink > 1) {
          const inode = `${info.dev}:${info.ino}`;
          inodes.set(inode, [...(inodes.get(inode) ?? []), key]);
        }
      }
      if (info.isSymbolicLink()) entry.link = printable(readlinkSync(full, { encoding: 'buffer' }));
      if (info.isCharacterDevice() || info.isBlockDevice()) entry.rdev = info.rdev;
      if (mtimes && (info.isFile() || info.isSymbolicLink())) entry.mtime = Math.floor(info.mtimeMs / 1000);
      const names = addon?.llistxattr(full).sort() ?? [];
      if (names.length > 0) entry.xattrs = Object.fromEntries(names.map((n) => [n, addon!.lgetxattr(full, n).toString('base64')]));
      if (info.isSymbolicLink()) delete entry.mode; // symlinks are always 0777 on Linux
      tree[key] = entry;
      if (info.isDirectory()) walk(full, key);
    }
  };
  walk(Buffer.from(root), '');
  for (const paths of inodes.values()) if (paths.length > 1) for (const key of paths) tree[key]!.hardlinkGroup = paths[0];
  return tree;
}

const SLASH = Buffer.from('/');

/** A name as text: as it is when it is UTF-8, else with every byte above 0x7f as \xNN. */
export function printable(name: Buffer): string {
  const text = name.toString();
  if (Buffer.from(text).equals(name)) return text;
  return [...name].map((byte) => (byte < 0x80 ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`)).join('');
}

function typeOf(info: Stats): TreeEntry['type'] {
  if (info.isFile()) return 'file';
  if (info.isDirectory()) return 'directory';
  if (info.isSymbolicLink()) return 'symlink';
  if (info.isCharacterDevice()) return 'character-device';
  if (info.isBlockDevice()) return 'block-device';
  if (info.isFIFO()) return 'fifo';
  return 'socket';
}

/** Paths whose entries differ, with both sides, for a readable assertion message. */
export function treeDiff(a: Tree, b: Tree, limit = 20): string[] {
  const differences: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const left = JSON.stringify(a[key]);
    const right = JSON.stringify(b[key]);
    if (left !== right) differences.push(`${key}: ${left ?? 'absent'} != ${right ?? 'absent'}`);
    if (differences.length >= limit) break;
  }
  return differences;
}
