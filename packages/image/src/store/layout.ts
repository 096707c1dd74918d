/**
 * The content store: an OCI image layout (image-spec image-layout.md) that skopeo (`oci:DIR:REF`)
 * and umoci read. Images are named by the `org.opencontainers.image.ref.name` annotation of
 * index.json's manifests. A blob lands in `blobs/ALG/HEX` only after its digest and size were
 * checked, by rename from a temp file in `ingest/`; index.json is replaced by rename too.
 *
 * Concurrency (several `oci pull` at once, and kill -9 at any point):
 * - index.json changes happen under the `index` lock (index-file.ts), so no update is lost and
 *   readers always see a whole file.
 * - Writers of blobs hold a lease (`lease()`, leases.ts): its temp files live in
 *   `ingest/LEASE/`, and `gc` waits for live leases before it collects, so it never deletes a
 *   blob that a pull has written but not yet named. A lease whose process died leaves a
 *   directory that gc removes.
 * Locks are abstract unix sockets (lock.ts): the kernel drops them with their process.
 *
 * The small files (oci-layout, index.json, manifests and configs) are read synchronously
 * (small-files.ts).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Descriptor, ImageIndex } from '@oci/specs';
import { blobPath, checkContent } from '../digest.js';
import { ImageError } from '../errors.js';
import { fsp } from '../fs-promises.js';
import { reachableBlobs, removeBlobsExcept } from './gc.js';
import { emptyIndex, findName, IndexFile, lastPulled } from './index-file.js';
import type { Expected, Ingest, Ingester } from './ingest.js';
import { type Lease, Leases } from './leases.js';
import { LockNames, newId, withLock } from './lock.js';
import { describeFileError, readAtMost, writeIfAbsent } from './small-files.js';

const LAYOUT_VERSION = '1.0.0';
/** Manifests, indexes and configs are read whole; nothing legitimate comes near this. */
const MAX_DOCUMENT_SIZE = 8 << 20;

export interface GarbageCollection {
  /** Digests of the blobs removed. */
  removed: string[];
  /** Chain IDs of the layer snapshots removed (no image reaches them, no bundle uses them). */
  snapshots: string[];
  /** Bytes freed, blobs and snapshots. */
  freed: number;
}

export class Store implements Ingester {
  #locks!: LockNames;
  #index!: IndexFile;
  #leases!: Leases;
  /** This Store object's lease, while it writes (see Lease). */
  #lease: Lease | undefined;

  private constructor(readonly dir: string) {}

  /** Opens the layout at `dir`; with `create`, makes it first where it is missing. */
  static async open(dir: string, { create = false } = {}): Promise<Store> {
    const store = new Store(path.resolve(dir));
    // An existing store costs one read: every `oci pull` opens one, most often one that is there.
    const layout = (await store.#readLayout({ missingOk: create })) ?? (await store.#create());
    if (layout.imageLayoutVersion !== LAYOUT_VERSION) {
      throw new ImageError('ESTORE', `${store.dir}: unsupported imageLayoutVersion ${JSON.stringify(layout.imageLayoutVersion)}`);
    }
    store.#locks = await LockNames.of(store.dir);
    store.#index = new IndexFile(store.dir, store.#locks.name('index'));
    store.#leases = new Leases(store.dir, store.#locks);
    return store;
  }

  /** The oci-layout file's content; undefined when it is missing and that is ok. */
  async #readLayout({ missingOk = false } = {}): Promise<{ imageLayoutVersion?: unknown } | undefined> {
    try {
      return JSON.parse(readFileSync(path.join(this.dir, 'oci-layout'), 'utf8'));
    } catch (error) {
      if (missingOk && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ImageError('ESTORE', `${this.dir} is not an OCI image layout (${describeFileError(error)})`, { cause: error });
    }
  }

  // oci-layout last: a layout that has it is whole, so open() need not look for the rest.
  // Returns oci-layout's content (another process may have written it first). Synchronous, as
  // the small files are: through the thread pool, `oci images` of a new store took ~20 ms more.
  async #create(): Promise<{ imageLayoutVersion?: unknown }> {
    mkdirSync(path.join(this.dir, 'blobs', 'sha256'), { recursive: true });
    mkdirSync(path.join(this.dir, 'ingest'), { recursive: true });
    writeIfAbsent(path.join(this.dir, 'index.json'), JSON.stringify(emptyIndex()));
    writeIfAbsent(path.join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
    return (await this.#readLayout())!;
  }

  blobPath(digest: string): string {
    return path.join(this.dir, blobPath(digest));
  }

  /** True when the blob is present (and has `size` bytes, when given). */
  async hasBlob(digest: string, size?: number): Promise<boolean> {
    try {
      const info = await fsp().stat(this.blobPath(digest));
      return info.isFile() && (size === undefined || info.size === size);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  /** A stream of the blob's bytes (`start` to `end` inclusive, when given); ENOTFOUND when the store lacks it. */
  async openBlob(digest: string, range: { start?: number; end?: number } = {}): Promise<Readable> {
    try {
      return (await fsp().open(this.blobPath(digest), 'r')).createReadStream({ ...range, highWaterMark: 1 << 20 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError('ENOTFOUND', `blob ${digest} is missing from the store`);
      throw error;
    }
  }

  /** A small blob (manifest, index, config), read whole and checked against its descriptor. */
  async readBlob(descriptor: Pick<Descriptor, 'digest' | 'size'>): Promise<Buffer> {
    if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0)
      throw new ImageError('EDIGEST', `${descriptor.digest}: invalid size ${JSON.stringify(descriptor.size)}`);
    if (descriptor.size > MAX_DOCUMENT_SIZE) throw new ImageError('EMANIFEST', `${descriptor.digest}: ${descriptor.size} bytes is too large for a document`);
    let data: Buffer;
    try {
      data = readAtMost(this.blobPath(descriptor.digest), descriptor.size + 1);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError('ENOTFOUND', `blob ${descriptor.digest} is missing from the store`);
      throw error;
    }
    checkContent(data, descriptor, 'stored blob');
    return data;
  }

  async readJSON<T>(descriptor: Pick<Descriptor, 'digest' | 'size'>): Promise<T> {
    const data = await this.readBlob(descriptor);
    try {
      return JSON.parse(data.toString('utf8')) as T;
    } catch (error) {
      throw new ImageError('EMANIFEST', `${descriptor.digest} is not valid JSON`, { cause: error });
    }
  }

  /**
   * Streams `source` into the store. With `expected`, the blob lands only if its digest and
   * size match; either way nothing partial is ever visible under blobs/.
   */
  async writeBlob(source: Iterable<Uint8Array> | AsyncIterable<Uint8Array> | Readable, expected?: Expected): Promise<{ digest: string; size: number }> {
    if (!this.#lease) return this.lease(() => this.writeBlob(source, expected));
    const ingest = await this.ingest(expected);
    try {
      // node:stream loaded here, not with the store: reading an image (oci run IMAGE) never needs it.
      const { Readable } = await import('node:stream');
      await ingest.appendFrom(source instanceof Readable ? source : Readable.from(source));
      return await ingest.publish();
    } catch (error) {
      await ingest.abort();
      throw error;
    }
  }

  /**
   * Starts writing a blob piece by piece (a download that may resume); see Ingest. Only inside
   * `lease()`, which removes what an unfinished ingest leaves behind.
   */
  async ingest(expected?: Expected): Promise<Ingest> {
    const lease = this.#lease;
    if (!lease) throw new Error('Store.ingest() must be called inside Store.lease()');
    await lease.held;
    // Loaded by the first writer: reading the store (oci run IMAGE) never needs it, nor node:stream.
    const { Ingest } = await import('./ingest.js');
    return Ingest.create(path.join(lease.ingest, `${newId()}.partial`), expected, (digest) => this.blobPath(digest));
  }

  /**
   * A fresh path (not yet created) in this writer's lease directory, for work that must vanish
   * with the writer if it dies (a snapshot being prepared). Only inside `lease()`.
   */
  async leasePath(prefix: string): Promise<string> {
    const lease = this.#lease;
    if (!lease) throw new Error('Store.leasePath() must be called inside Store.lease()');
    await lease.held;
    return path.join(lease.ingest, `${prefix}-${newId()}`);
  }

  /** Runs `fn` holding the store's lock `name`, which excludes other processes too. */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return withLock(this.#locks.name(`x/${name}`), fn);
  }

  /** Serialises `value` and stores it; returns its descriptor. */
  async writeJSON(value: unknown, mediaType: string): Promise<Descriptor> {
    const { digest, size } = await this.writeBlob([Buffer.from(JSON.stringify(value))]);
    return { mediaType, digest, size };
  }

  async readIndex(): Promise<ImageIndex> {
    return this.#index.read();
  }

  /** Every named image: ref name → manifest (or index) descriptor, in index.json's order. */
  async refs(): Promise<Map<string, Descriptor>> {
    return this.#index.refs();
  }

  /** The descriptor `name` (see resolveName) points to. */
  async resolve(name: string): Promise<Descriptor> {
    const refs = this.#index.refs();
    return refs.get(findName(refs, name))!;
  }

  /**
   * The name in index.json that `input` means: itself when the store has it, else its normalised
   * reference (`busybox` → `docker.io/library/busybox:latest`). ENOTFOUND when neither is there.
   */
  async resolveName(input: string): Promise<string> {
    return findName(this.#index.refs(), input);
  }

  /**
   * Names `descriptor` as `name`, replacing what the name pointed to. With `pulled`, the entry
   * records when (PULLED_ANNOTATION), which makes it the store's `lastPulled()`.
   */
  async setRef(name: string, descriptor: Descriptor, { pulled }: { pulled?: Date } = {}): Promise<void> {
    await this.#index.setRef(name, descriptor, pulled);
  }

  /**
   * Lists `descriptor` in index.json without a name, unless an entry without a name lists it
   * already: how skopeo writes `oci:DIR` when no reference is given. (The content store names
   * every image: gc keeps only what names reach.)
   */
  async addUnnamed(descriptor: Descriptor): Promise<void> {
    await this.#index.addUnnamed(descriptor);
  }

  /** The name of the image most recently pulled into the store (`oci unpack` with no arguments), if any. */
  async lastPulled(): Promise<string | undefined> {
    return lastPulled(this.#index.refs());
  }

  /** Removes the name; false when there was no such name. */
  async removeRef(name: string): Promise<boolean> {
    return this.#index.removeRef(name);
  }

  /**
   * Runs `fn` as a writer: blobs written meanwhile cannot be collected by `gc` before they are
   * named. Waits while a gc runs. Concurrent and nested calls share one lease.
   */
  async lease<T>(fn: () => Promise<T>): Promise<T> {
    const lease = (this.#lease ??= this.#leases.take());
    lease.users++;
    try {
      await lease.held;
      return await fn();
    } finally {
      if (--lease.users === 0) {
        if (this.#lease === lease) this.#lease = undefined;
        await this.#leases.end(lease);
      }
    }
  }

  /**
   * Removes every blob that no named image reaches, and what crashed writers left in ingest/.
   * Waits for writers that are alive to finish; new writers wait for it.
   */
  async gc(): Promise<GarbageCollection> {
    if (this.#lease) throw new Error('Store.gc() cannot run inside Store.lease(): it would wait for itself');
    return withLock(this.#locks.name('gc'), async () => {
      await this.#leases.drain();
      return withLock(this.#locks.name('index'), async () => {
        const blobs = await removeBlobsExcept(this.dir, await reachableBlobs(this));
        const { collectSnapshots } = await import('../snapshot/gc.js');
        const snapshots = await collectSnapshots(this);
        return { removed: blobs.removed, snapshots: snapshots.removed, freed: blobs.freed + snapshots.freed };
      });
    });
  }

  /**
   * Removes what writers that died left in ingest/ (a snapshot half-prepared can be hundreds of
   * MB), leaving live writers alone.
   */
  async removeDeadLeases(): Promise<void> {
    await this.#leases.removeDead();
  }
}
