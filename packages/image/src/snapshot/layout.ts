/**
 * Where snapshots live in the store:
 *
 *   snapshots/ALG/HEX/fs          a layer applied onto the layers below it (by its chain ID),
 *                                 in overlayfs' own form: an overlay's lowerdir
 *   snapshots/ALG/HEX/info.json   which layer it is, and since when
 *   snapshots/users/ID            a bundle that mounts snapshots (users.ts)
 *   snapshots/recipes/REF         how the CLI made an overlay bundle of REF, for its front door
 *                                 to make the next (packages/cli/src/overlay-recipe.ts)
 *   snapshots/recipes/@run/HEX    how the CLI ran an image, for its front door to run the next
 *                                 (packages/cli/src/run-recipe.ts)
 *   snapshots/empty/              the lowerdir under the bottom layer (an overlay needs one)
 *   snapshots/trash/              snapshots gc is removing (renamed here first: never half there)
 *
 * A snapshot directory appears by one rename, once its layer applied and verified, so
 * `snapshots/ALG/HEX` existing means it is whole. An unprivileged user's are in snapshots-user/,
 * laid out alike.
 */
import path from 'node:path';
import { parseDigest } from '../digest.js';

export interface SnapshotInfo {
  /** The layer's diff_id (the uncompressed tar's digest). */
  diffId: string;
  /** When it was committed (ISO 8601). */
  created: string;
}

/**
 * How a snapshot holds overlayfs' own attributes: `trusted` (trusted.overlay.*, root's), or
 * `user` (user.overlay.*, an overlay with `userxattr`, which is what an unprivileged user may
 * mount, in a user namespace). Each overlay reads only its own form, so the two live apart:
 * snapshots/ and snapshots-user/.
 */
export type SnapshotForm = 'trusted' | 'user';

export const SNAPSHOT_FORMS: readonly SnapshotForm[] = ['trusted', 'user'];

/** The form this process makes and mounts. */
export const processForm = (): SnapshotForm => (process.geteuid?.() === 0 ? 'trusted' : 'user');

export class SnapshotLayout {
  readonly root: string;

  constructor(
    storeDir: string,
    readonly form: SnapshotForm = processForm(),
  ) {
    this.root = path.join(storeDir, form === 'trusted' ? 'snapshots' : 'snapshots-user');
  }

  /** An overlay of these snapshots is made in a user namespace of our own, with userxattr. */
  get unprivileged(): boolean {
    return this.form === 'user';
  }

  /** The committed snapshot's directory (fs/ and info.json). */
  dir(chainId: string): string {
    const { algorithm, encoded } = parseDigest(chainId);
    return path.join(this.root, algorithm, encoded);
  }

  /** The snapshot's files: what an overlay stacks. */
  fs(chainId: string): string {
    return path.join(this.dir(chainId), 'fs');
  }

  get users(): string {
    return path.join(this.root, 'users');
  }

  /** Derived, never authoritative: gc clears it. */
  get recipes(): string {
    return path.join(this.root, 'recipes');
  }

  get empty(): string {
    return path.join(this.root, 'empty');
  }

  get trash(): string {
    return path.join(this.root, 'trash');
  }

  /** The chain ID of a path under a snapshot's fs/ (a lowerdir), or undefined when it is not one. */
  chainIdOf(dir: string): string | undefined {
    const relative = path.relative(this.root, dir).split(path.sep);
    if (relative.length !== 3 || relative[2] !== 'fs') return undefined;
    const chainId = `${relative[0]}:${relative[1]}`;
    try {
      parseDigest(chainId);
      return chainId;
    } catch {
      return undefined;
    }
  }
}
