/**
 * Hardlinks that span layers. A layer that links a new name to a file of a lower layer makes
 * overlayfs copy that file up into the new snapshot; if the file had other names below, those
 * stay behind as a separate inode once the snapshot is stacked without the overlay's inode index
 * (it lives in the preparation's workdir only), and the group a full unpack keeps is broken.
 * So a layer that makes such a link is prepared with the index on, and before it is committed
 * every name of such a group that the merged view still shows is copied up too: then the
 * snapshot holds the whole group, with no help from the index. Only those layers pay the walk.
 */
import { lchownSync, lstatSync, readdirSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { NativeAddon } from '@oci/native';
import { type ApplyOptions, LayerApplier } from '../layer/apply.js';
import { type BytePath, bytePath, fsPath } from '../layer/byte-path.js';
import { cleanPath, splitPath } from '../layer/root.js';
import type { TarHeader } from '../layer/tar.js';

/**
 * `root` is the merged view being prepared (index on), `upper` its upper directory and `work`
 * its workdir. Copies up the names of each copied-up hardlink group that are still lower.
 */
export function completeHardlinks(root: string, upper: string, work: string): void {
  const indexed = new Set<number>();
  for (const name of readdirIfPresent(path.join(work, 'index'))) indexed.add(lstatSync(path.join(work, 'index', name)).ino);
  if (indexed.size === 0) return;
  // The merged inode numbers of the groups: those of their names already in the upper.
  const groups = new Set<number>();
  walkFiles(upper, (rel, info) => {
    if (indexed.has(info.ino)) groups.add(lstatSync(path.join(root, rel)).ino);
  });
  if (groups.size === 0) return;
  walkFiles(root, (rel, info) => {
    if (!groups.has(info.ino) || lstatSync(path.join(upper, rel), { throwIfNoEntry: false })?.isFile()) return;
    lchownSync(path.join(root, rel), info.uid, info.gid); // a change of nothing, which copies it up into the group
  });
}

function walkFiles(dir: string, visit: (rel: string, info: Stats) => void, rel = ''): void {
  for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) walkFiles(dir, visit, child);
    else if (entry.isFile()) {
      const info = lstatSync(path.join(dir, child));
      if (info.nlink > 1) visit(child, info);
    }
  }
}

function readdirIfPresent(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** A layer links to a lower file that has other names: it must be applied with the index on. */
export class NeedsIndex extends Error {
  constructor() {
    super('a hardlink to a lower file with other names needs the overlay index');
    this.name = 'NeedsIndex';
  }
}

/**
 * An applier that stops (NeedsIndex) at the first hardlink to a file of a lower layer that has
 * other names: only with the overlay's index does the copy-up keep that group whole. The index
 * costs every entry of a layer (Debian's /usr/share layer: 0.76 s without, 1.35 s with), and
 * such links are rare: a layer is applied without it, and again with it when it has one.
 */
export class HardlinkWatchingApplier extends LayerApplier {
  constructor(
    rootDir: string,
    addon: NativeAddon,
    options: ApplyOptions,
    /** The overlay's upper directory: a file already there is this layer's own. */
    private readonly upper: string,
  ) {
    super(rootDir, addon, options);
  }

  override entry(header: TarHeader): void {
    if (header.type === 'hardlink' && this.#linksToLowerGroup(header.linkname)) throw new NeedsIndex();
    super.entry(header);
  }

  #linksToLowerGroup(linkname: TarHeader['linkname']): boolean {
    const { parent, name } = splitPath(cleanPath(bytePath(linkname)));
    let dir: BytePath | undefined;
    try {
      dir = name === '' ? undefined : this.root.resolveDir(parent, false);
    } catch {
      return false; // the applier says what is wrong with it
    }
    if (dir === undefined) return false;
    const target = lstatSync(fsPath(`${dir}/${name}`), { throwIfNoEntry: false });
    if (!target || target.isDirectory() || target.nlink < 2) return false;
    return !lstatSync(fsPath(`${bytePath(this.upper)}${dir.slice(this.root.dir.length)}/${name}`), { throwIfNoEntry: false });
  }
}
