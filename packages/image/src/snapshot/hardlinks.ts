/**
 * Hardlinks that span layers. A layer that links a new name to a file of a lower layer makes
 * overlayfs copy that file up into the new snapshot; if the file had other names below, those
 * stay behind as a separate inode once the snapshot is stacked without the overlay's inode index
 * (it lives in the preparation's workdir only), and the group a full unpack keeps is broken.
 * So a snapshot is prepared with the index on, and before it is committed every name of such a
 * group that the merged view still shows is copied up too: then the snapshot holds the whole
 * group, with no help from the index. Only layers that copied up a hardlink pay the walk.
 */
import { lchownSync, lstatSync, readdirSync, type Stats } from 'node:fs';
import path from 'node:path';

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
