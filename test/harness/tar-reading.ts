/** The tar reader fed an archive as the fuzz tests feed it: cut into chunks, each handler call checked for order. */
import { ImageError } from '@oci/image';
import { type TarHeader, TarReader } from '@oci/image/layer/tar';
import { expectTyped } from './fuzz.js';

export interface ReadEntry {
  header: TarHeader;
  /** The data pieces, joined (a sparse file's holes left out). */
  content: Buffer;
  /** Where each piece goes in the file, as [offset, length]. */
  pieces: [number, number][];
  /** False for the entry an error cut short. */
  ended: boolean;
}

export interface ReadResult {
  entries: ReadEntry[];
  /** The ImageError that stopped the reader, if one did. */
  error?: string;
}

/** Feeds `archive` cut at `cuts` (offsets) and checks the handler calls come in order. */
export function readArchive(archive: Buffer, cuts: readonly number[] = []): ReadResult {
  const entries: ReadEntry[] = [];
  let pieces: Buffer[] | undefined;
  let placed: [number, number][] = [];
  const reader = new TarReader({
    entry(header) {
      if (pieces) throw new Error('entry() before the previous entry ended');
      entries.push({ header, content: Buffer.alloc(0), pieces: [], ended: false });
      pieces = [];
      placed = [];
    },
    data(chunk, offset) {
      if (!pieces) throw new Error('data() outside an entry');
      pieces.push(Buffer.from(chunk)); // valid only during the call
      // Pieces cut where the chunks were cut are one piece of the file.
      const last = placed.at(-1);
      if (last && last[0] + last[1] === offset) last[1] += chunk.length;
      else placed.push([offset, chunk.length]);
    },
    end() {
      if (!pieces) throw new Error('end() outside an entry');
      Object.assign(entries.at(-1)!, { content: Buffer.concat(pieces), pieces: placed, ended: true });
      pieces = undefined;
    },
  });
  try {
    let at = 0;
    for (const cut of [...new Set(cuts)].filter((c) => c > 0 && c < archive.length).sort((a, b) => a - b)) {
      reader.feed(archive.subarray(at, cut));
      at = cut;
    }
    reader.feed(archive.subarray(at));
    reader.finish();
  } catch (error) {
    expectTyped(error, ImageError, ['ELAYER']);
    return { entries, error: (error as Error).message };
  }
  if (pieces) throw new Error('finish() passed inside an entry');
  return { entries };
}
