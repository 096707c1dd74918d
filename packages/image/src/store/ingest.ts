/**
 * A blob being written into the store: bytes append to a temp file in the writer's lease
 * directory and are hashed as they land; `commit` renames the file under `blobs/` only when
 * size and digest match (`verify`, then `publish`). A download that breaks off can go on from `written` bytes (an HTTP
 * Range request) or `restart` from zero.
 */
import { write as writeCallback, writev as writevCallback } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { Digester, parseDigest, type DigestAlgorithm } from '../digest.js';

const writev = promisify(writevCallback);
const write = promisify(writeCallback);

export interface Expected {
  digest: string;
  size?: number;
}

export class Ingest {
  #digester: Digester;
  #written = 0;
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
   * A stream that appends here. Several may be used one after another, never two at once.
   * `onChunk` sees each chunk as it arrives (before it is on disk), and may throw to refuse it.
   */
  writable(onChunk?: (chunk: Buffer) => void): Writable {
    const append = (chunks: Buffer[], done: (error?: Error | null) => void) => {
      try {
        if (onChunk) for (const chunk of chunks) onChunk(chunk);
      } catch (error) {
        return done(error as Error);
      }
      this.#pending = this.#append(chunks);
      this.#pending.then(() => done(), done);
    };
    return new Writable({
      highWaterMark: 4 << 20,
      write: (chunk: Buffer, _encoding, done) => append([chunk], done),
      writev: (chunks, done) => append(chunks.map((c) => c.chunk as Buffer), done),
    });
  }

  async #append(chunks: Buffer[]): Promise<void> {
    for (const chunk of chunks) this.#digester.update(chunk);
    let position = this.#written;
    let rest = chunks;
    while (rest.length > 0) {
      const { bytesWritten: n } = rest.length === 1 ? await write(this.file.fd, rest[0]!, 0, rest[0]!.length, position) : await writev(this.file.fd, rest, position);
      position += n;
      rest = skip(rest, n);
    }
    this.#written = position;
  }

  /** Starts again from zero bytes (the server would not resume). */
  async restart(): Promise<void> {
    await this.settled();
    await this.file.truncate(0);
    this.#written = 0;
    this.#digester = new Digester(this.algorithm);
  }

  /**
   * Checks size and digest and closes the file: the blob is whole but not yet in the store.
   * A pull verifies every blob before it publishes any, so a failure stores nothing.
   */
  async verify(): Promise<{ digest: string; size: number }> {
    if (this.#verified) return this.#verified;
    await this.settled();
    await this.file.close();
    const digest = this.expected ? this.#digester.check(this.expected, 'blob') : this.#digester.digest();
    this.#verified = { digest, size: this.#written };
    return this.#verified;
  }

  /** Moves a verified blob into place under blobs/. */
  async publish(): Promise<{ digest: string; size: number }> {
    const verified = await this.verify();
    const destination = this.destination(verified.digest);
    await mkdir(path.dirname(destination), { recursive: true });
    await rename(this.path, destination);
    return verified;
  }

  /** Throws the bytes away. Safe to call after a failed verify. */
  async abort(): Promise<void> {
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
