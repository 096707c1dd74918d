/**
 * A blob being written into the store: bytes append to a temp file in the writer's lease
 * directory and are hashed as they land; `publish` renames the file under `blobs/` only once
 * `verify` found its size and digest right. A download that breaks off can go on from
 * `written` bytes (an HTTP Range request) or `restart` from zero.
 *
 * A blob is on disk before it is published (fdatasync in `verify`), as containerd's content
 * store and skopeo's `oci:` layout make theirs: index.json, fsynced after the blobs it names,
 * must not survive a power loss that its blobs did not (they would come back empty). So that
 * the fdatasync waits only for the last bytes, the disk is told to start on each
 * WRITEBACK_STEP as it lands (sync_file_range, through the addon). Measured with a 93 MB pull:
 * the fdatasync alone made `oci pull` 16% slower; started every 1-2 MB, 1-5% (the writeback's
 * own cost, which a pull without it leaves to the kernel's flusher after it exits).
 */
import { write as writeCallback, writeSync, writev as writevCallback } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { finished, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import { type DigestAlgorithm, Digester, parseDigest } from '../digest.js';
import { ImageError } from '../errors.js';
import { inItsDirectory } from '../fs-promises.js';
import { loadedAddon } from '../native.js';

const writev = promisify(writevCallback);
const write = promisify(writeCallback);

/** Written bytes the disk is told to start on at once (see above); 8 MB steps cost 7%. */
const WRITEBACK_STEP = 2 << 20;

/** Bytes that may wait for the disk before the source is paused. */
const QUEUED_MAX = 4 << 20;

export interface Expected {
  digest: string;
  size?: number;
}

/**
 * What writes blobs into a store (containerd's content.Ingester): the registry client downloads
 * through this, never knowing the store behind it.
 */
export interface Ingester {
  /** Starts writing a blob piece by piece; it lands only once whole and matching `expected`. */
  ingest(expected?: Expected): Promise<Ingest>;
}

export class Ingest {
  #digester: Digester;
  #written = 0;
  /** Readers following the bytes as they land (readWhileWriting), woken by each change. */
  #waiters: (() => void)[] = [];
  /** Set when the bytes are thrown away: readers following them fail with it. */
  #aborted: Error | undefined;
  /** The write in flight, if any: `written` counts a chunk once it is on disk. */
  #pending: Promise<void> = Promise.resolve();
  #verified: { digest: string; size: number } | undefined;

  private constructor(
    private readonly file: FileHandle,
    /** The temp file, whole and checked after `verify()`. */
    readonly path: string,
    private readonly algorithm: DigestAlgorithm,
    private readonly expected: Expected | undefined,
    private readonly destination: (digest: string) => string,
  ) {
    this.#digester = new Digester(algorithm);
  }

  static async create(temp: string, expected: Expected | undefined, destination: (digest: string) => string): Promise<Ingest> {
    const algorithm = expected ? parseDigest(expected.digest).algorithm : 'sha256';
    return new Ingest(await open(temp, 'wx'), temp, algorithm, expected, destination);
  }

  /** The digest the blob must have, if one was given. */
  get expectedDigest(): string | undefined {
    return this.expected?.digest;
  }

  /** Bytes on disk so far. Await `settled()` first when a writable was just destroyed. */
  get written(): number {
    return this.#written;
  }

  /** Waits for a write still in flight (after the stream feeding this broke off). */
  settled(): Promise<void> {
    return this.#pending.catch(() => undefined);
  }

  /**
   * Appends what `source` sends until it ends; resolves when all of it is on disk. Several
   * sources may be used one after another, never two at once. `onChunk` sees each chunk as it
   * arrives (before it is on disk), and may throw to refuse it (the source is then destroyed).
   *
   * The source is read in flowing mode and paused while more than QUEUED_MAX bytes wait for the
   * disk; what arrives during a write goes out with the next one. A pipe into a Writable does
   * the same with more calls per chunk, and a download has many: a 93 MB image comes in ~1,500
   * chunks of 64 KB, through code that a fresh `oci pull` runs cold (interpreted).
   */
  appendFrom(source: Readable, onChunk?: (chunk: Buffer) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let queued: Buffer[] = [];
      let queuedBytes = 0;
      let writing = false;
      let ended = false;
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        source.destroy();
        reject(error);
      };
      const flush = () => {
        if (writing || failed) return;
        if (queued.length === 0) {
          if (ended) resolve();
          return;
        }
        writing = true;
        this.#pending = this.#append(queued);
        queued = [];
        queuedBytes = 0;
        this.#pending.then(() => {
          writing = false;
          source.resume();
          flush();
        }, fail);
      };
      source.on('data', (chunk: Buffer) => {
        try {
          onChunk?.(chunk);
        } catch (error) {
          return fail(error);
        }
        queued.push(chunk);
        queuedBytes += chunk.length;
        if (queuedBytes > QUEUED_MAX) source.pause();
        flush();
      });
      finished(source, (error) => {
        if (error) return fail(error);
        ended = true;
        flush();
      });
    });
  }

  /**
   * Appends `chunk` now: written at the end of the file, then hashed. For a source that lends
   * its buffer only for the call (a download read straight off its socket, registry/download.ts),
   * and whose chunks are large: a synchronous write of one into the page cache costs less than
   * handing it to the thread pool. Never while appendFrom runs.
   */
  append(chunk: Uint8Array): void {
    let position = this.#written;
    for (let offset = 0; offset < chunk.length; ) {
      const n = writeSync(this.file.fd, chunk, offset, chunk.length - offset, position);
      offset += n;
      position += n;
    }
    this.#digester.update(chunk);
    this.#landed(position);
  }

  async #append(chunks: Buffer[]): Promise<void> {
    for (const chunk of chunks) this.#digester.update(chunk);
    let position = this.#written;
    let rest = chunks;
    while (rest.length > 0) {
      const { bytesWritten: n } =
        rest.length === 1 ? await write(this.file.fd, rest[0]!, 0, rest[0]!.length, position) : await writev(this.file.fd, rest, position);
      position += n;
      rest = skip(rest, n);
    }
    this.#landed(position);
  }

  /** The file holds `position` bytes now: the disk starts on each whole step, readers wake. */
  #landed(position: number): void {
    const from = this.#written - (this.#written % WRITEBACK_STEP);
    const to = position - (position % WRITEBACK_STEP);
    try {
      if (to > from) loadedAddon()?.startWriteback(this.file.fd, from, to - from);
    } catch {
      // Only a head start: the fdatasync in verify() reports what the disk could not do.
    }
    this.#written = position;
    this.#changed();
  }

  #changed(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * The blob's bytes from the start, as they land on disk, ending only once the whole blob was
   * verified (its digest and size matched): a reader may act on the bytes while they download
   * (a layer applied into its snapshot), and finishes only if they were the right ones. Throws
   * when the ingest is aborted (a failed download). A download that starts over (restart())
   * rewrites the same bytes: the reader waits until they are past where it is.
   */
  async *readWhileWriting(chunkSize = 1 << 20): AsyncGenerator<Buffer> {
    const file = await open(this.path, 'r');
    try {
      for (let position = 0; ; ) {
        if (this.#aborted) throw this.#aborted;
        if (position < this.#written) {
          const buffer = Buffer.allocUnsafe(Math.min(chunkSize, this.#written - position));
          const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
          position += bytesRead;
          yield buffer.subarray(0, bytesRead);
        } else if (this.#verified) {
          return;
        } else {
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      }
    } finally {
      await file.close();
    }
  }

  /** Starts again from zero bytes (the server would not resume). */
  async restart(): Promise<void> {
    await this.settled();
    await this.file.truncate(0);
    this.#written = 0;
    this.#changed();
    this.#digester = new Digester(this.algorithm);
  }

  /**
   * Checks size and digest and closes the file, on disk: the blob is whole but not yet in the
   * store. A pull verifies every blob before it publishes any, so a failure stores nothing.
   */
  async verify(): Promise<{ digest: string; size: number }> {
    if (this.#verified) return this.#verified;
    await this.settled();
    await this.file.datasync();
    await this.file.close();
    let digest: string;
    try {
      digest = this.expected ? this.#digester.check(this.expected, 'blob') : this.#digester.digest();
    } catch (error) {
      this.#aborted = error as Error;
      this.#changed();
      throw error;
    }
    this.#verified = { digest, size: this.#written };
    this.#changed();
    return this.#verified;
  }

  /** Moves a verified blob into place under blobs/. */
  async publish(): Promise<{ digest: string; size: number }> {
    const verified = await this.verify();
    const destination = this.destination(verified.digest);
    await inItsDirectory(destination, () => rename(this.path, destination));
    return verified;
  }

  /** Throws the bytes away. Safe to call after a failed verify. */
  async abort(): Promise<void> {
    this.#aborted ??= new ImageError('EREGISTRY', 'the download of this blob failed');
    this.#changed();
    await this.settled();
    await this.file.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}

/** The buffers after the first `n` bytes. */
function skip(chunks: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < chunks.length && n >= chunks[i]!.length) n -= chunks[i++]!.length;
  if (i === chunks.length) return [];
  return [chunks[i]!.subarray(n), ...chunks.slice(i + 1)];
}
