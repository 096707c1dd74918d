/**
 * Writers' leases (see layout.ts): a lease is the lock `lease/ID`, held by its process, and the
 * directory ingest/ID for its temp files. A lease is taken under the `gc` lock, so none begins
 * while gc runs; gc waits for the live ones and removes what dead ones left.
 */
import path from 'node:path';
import { fsp } from '../fs-promises.js';
import { readdirIfPresent } from '../read-dir.js';
import { removeTree } from '../remove-tree.js';
import { type Held, isHeld, type LockNames, lock, newId, withLock } from './lock.js';

/**
 * A Store object's claim as a writer: gc waits for it; temp files live in `ingest/ID/`. One
 * per Store object, shared by all its concurrent writers and counted, dropped by the last.
 */
export interface Lease {
  readonly ingest: string;
  readonly held: Promise<Held>;
  users: number;
}

export class Leases {
  readonly #ingest: string;

  constructor(
    storeDir: string,
    private readonly locks: LockNames,
  ) {
    this.#ingest = path.join(storeDir, 'ingest');
  }

  /** A new lease: its lock, then its directory (so a directory whose lock is free is a dead writer's). */
  take(): Lease {
    const id = newId();
    const ingest = path.join(this.#ingest, id);
    const held = withLock(this.locks.name('gc'), async () => {
      const claim = await lock(this.locks.name(`lease/${id}`));
      await fsp().mkdir(ingest, { recursive: true });
      return claim;
    });
    return { ingest, held, users: 0 };
  }

  /** Ends the lease: its temp files go, then its lock. */
  async end(lease: Lease): Promise<void> {
    removeTree(lease.ingest);
    await (await lease.held.catch(() => undefined))?.release();
  }

  /** Waits until no live lease remains; removes the directories of dead ones. Under the `gc` lock. */
  async drain(): Promise<void> {
    for (const id of await this.#ids()) {
      while (await isHeld(this.locks.name(`lease/${id}`))) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      removeTree(path.join(this.#ingest, id));
    }
  }

  /**
   * Removes what writers that died left in ingest/ (a snapshot half-prepared can be hundreds of
   * MB), leaving live writers alone.
   */
  async removeDead(): Promise<void> {
    for (const id of await this.#ids()) {
      if (!(await isHeld(this.locks.name(`lease/${id}`)))) removeTree(path.join(this.#ingest, id));
    }
  }

  async #ids(): Promise<string[]> {
    return (await readdirIfPresent(this.#ingest)).filter((name) => /^[0-9a-f]{12}$/.test(name));
  }
}
