/**
 * A tar archive of images (`docker save`, `oci-archive`) read at random: one pass notes where
 * each file's bytes lie, and a file is then a range of the archive on disk, read as often and in
 * whatever order the copy needs, never held whole in memory. An archive that cannot be read at
 * random (gzip or zstd compressed, or a pipe such as stdin) is first written out, inflated, to a
 * temp file, and indexed on the way: what `docker load` and containers/image do too.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { throwIfAborted } from '../abort.js';
import { ImageError } from '../errors.js';
import { decompress, sniffCompression } from '../layer/decompress.js';
import { cleanPath } from '../layer/root.js';
import { TarReader } from '../layer/tar.js';
import { nativeAddon } from '../native.js';
import { newId } from '../store/lock.js';

/** Where a file's bytes are in the archive. */
interface Extent {
  offset: number;
  size: number;
}

/** Links are followed this many times at most (`docker save` links identical layers to each other). */
const MAX_LINK_HOPS = 16;

export interface ArchiveFileOptions {
  /** The temp file a compressed or piped archive is written out to (default: one in the system's temp dir). */
  spool?: string;
  signal?: AbortSignal;
  /** Bytes of the archive read so far, and its size when known. */
  onRead?(done: number, size: number | undefined): void;
}

export class ArchiveFile {
  private constructor(
    /** How messages name the archive: its path, or `-` for stdin. */
    readonly name: string,
    /** The uncompressed archive on disk: the file itself or its spooled copy. */
    private readonly file: string,
    private readonly handle: FileHandle,
    private readonly files: Map<string, Extent>,
    private readonly links: Map<string, string>,
    private readonly spooled: boolean,
  ) {}

  /** Indexes `input`: a file's path, or a stream (named `-`). */
  static async open(input: string | Readable, options: ArchiveFileOptions = {}): Promise<ArchiveFile> {
    const name = typeof input === 'string' ? input : '-';
    try {
      if (typeof input === 'string' && (await isPlainTar(input)))
        return await ArchiveFile.#index(name, input, createReadStream(input, { highWaterMark: 1 << 20 }), false, options);
      const source = typeof input === 'string' ? createReadStream(input, { highWaterMark: 1 << 20 }) : input;
      const spool = options.spool ?? path.join(tmpdir(), `oci-archive-${newId()}.tar`);
      return await ArchiveFile.#index(name, spool, source, true, options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError('EIMPORT', `${name}: no such file`);
      if (error instanceof ImageError && (error.code === 'ELAYER' || error.code === 'EIMPORT')) {
        throw new ImageError('EIMPORT', `${name}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  // One pass over `source`: the index, and, when spooling, the inflated copy written to `file`.
  static async #index(name: string, file: string, source: Readable, spool: boolean, options: ArchiveFileOptions): Promise<ArchiveFile> {
    const files = new Map<string, Extent>();
    const links = new Map<string, string>();
    let current: (Extent & { name: string; stored: number }) | undefined;
    const reader: TarReader = new TarReader({
      entry(header) {
        // manifest.json and index.json name files in JSON strings: their names as text.
        const entryName = cleanPath(header.path.toString());
        const target = header.linkname.toString();
        current = undefined;
        if (header.type === 'symlink') links.set(entryName, cleanPath(target.startsWith('/') ? target : `${entryName}/../${target}`));
        else if (header.type === 'hardlink') links.set(entryName, cleanPath(target));
        else if (header.type === 'file') {
          current = { name: entryName, offset: reader.dataOffset, size: header.size, stored: 0 };
          files.set(entryName, current);
        }
      },
      data(chunk) {
        if (current) current.stored += chunk.length;
      },
      end() {
        // A sparse file's bytes are not one range of the archive; no image tool writes one.
        if (current && current.stored !== current.size)
          throw new ImageError('EIMPORT', `${current.name} is a sparse file, which an image archive does not hold`);
      },
    });
    const handle = await open(file, spool ? 'wx+' : 'r', 0o600);
    try {
      const size = spool ? undefined : (await handle.stat()).size;
      let read = 0;
      async function* counted(): AsyncGenerator<Uint8Array> {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          throwIfAborted(options.signal);
          read += chunk.length;
          options.onRead?.(read, size);
          yield chunk;
        }
      }
      const tar = spool ? decompress(counted(), 'auto', { addon: await nativeAddon() }) : counted();
      let written = 0;
      for await (const chunk of tar) {
        reader.feed(chunk as Buffer);
        if (spool) written += (await handle.write(chunk, 0, chunk.length, written)).bytesWritten;
      }
      reader.finish();
      return new ArchiveFile(name, file, handle, files, links, spool);
    } catch (error) {
      source.destroy();
      await handle.close();
      if (spool) await rm(file, { force: true });
      throw error;
    }
  }

  /** Where the file `name` is (links followed), or undefined when the archive lacks it. */
  find(name: string): Extent | undefined {
    let current = cleanPath(name);
    for (let hops = 0; hops < MAX_LINK_HOPS; hops++) {
      const found = this.files.get(current);
      if (found) return found;
      const target = this.links.get(current);
      if (target === undefined) return undefined;
      current = target;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.find(name) !== undefined;
  }

  /** The whole file (a small one: JSON); EIMPORT when it is missing or bigger than `limit`. */
  async read(name: string, limit: number): Promise<Buffer> {
    const extent = this.#need(name);
    if (extent.size > limit) throw new ImageError('EIMPORT', `${name} in ${this.name} is ${extent.size} bytes, too large for what it should be`);
    return this.#pread(extent.offset, extent.size);
  }

  /** The file's first `n` bytes (fewer when it is shorter). */
  async head(name: string, n: number): Promise<Buffer> {
    const extent = this.#need(name);
    return this.#pread(extent.offset, Math.min(n, extent.size));
  }

  /** The file's bytes as a stream. */
  stream(name: string): Readable {
    const { offset, size } = this.#need(name);
    if (size === 0) return Readable.from([]);
    return createReadStream(this.file, { start: offset, end: offset + size - 1, highWaterMark: 1 << 20 });
  }

  /** Closes the archive; a spooled copy is removed. */
  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    if (this.spooled) await rm(this.file, { force: true });
  }

  #need(name: string): Extent {
    const extent = this.find(name);
    if (!extent) throw new ImageError('EIMPORT', `${this.name} lacks ${name}`);
    return extent;
  }

  async #pread(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(buffer, filled, length - filled, offset + filled);
      if (bytesRead === 0) throw new ImageError('EIMPORT', `${this.name} changed while it was read`);
      filled += bytesRead;
    }
    return buffer;
  }
}

/** True for an uncompressed regular file, which needs no copy to be read at random. */
async function isPlainTar(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    if (!(await handle.stat()).isFile()) return false;
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return sniffCompression(head.subarray(0, bytesRead)) === 'none';
  } finally {
    await handle.close();
  }
}
