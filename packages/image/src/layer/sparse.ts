/**
 * Sparse files in tar, in the forms GNU tar writes and Go's archive/tar (so umoci and
 * containerd) reads: the archive holds only the file's data segments and a map of where each
 * goes; the rest of the file is holes.
 *  - old GNU ('S' entries): map entries in the header and in extension blocks after it;
 *  - PAX 0.0 (GNU.sparse.offset and GNU.sparse.numbytes records, in turn) and 0.1
 *    (GNU.sparse.map "offset,length,…"), with GNU.sparse.numblocks entries;
 *  - PAX 1.0 (GNU.sparse.major=1, minor=0): the map as decimal lines at the start of the entry's
 *    data (the number of entries, then each one's offset and length), padded to whole blocks.
 */
import { fail, readNumber, type TarHeader } from './tar-header.js';

/** Where `length` bytes of the archive's data go in the file. */
export interface Segment {
  offset: number;
  length: number;
}

/** An entry whose header is read but whose sparse map is not yet whole. */
export interface SparseEntry {
  header: TarHeader;
  /** Bytes of data the archive holds for it (with a PAX 1.0 map at their start). */
  stored: number;
  segments: Segment[];
  /** Old GNU: extension blocks follow the header. */
  extended?: boolean;
  /** PAX 1.0: the map is at the start of the data. */
  map?: SparseMap1x0;
}

/** Bigger maps than this are hostile (GNU tar writes 1.0 maps of a few blocks). */
const MAX_MAP_BYTES = 1 << 20;

function decimal(text: string, what: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) fail(`invalid sparse ${what} '${text}'`);
  return value;
}

/** The map of PAX 0.0 (its offset and numbytes records joined) or 0.1: "offset,length,…". */
export function paxSegments(map: string, numblocks: string | undefined): Segment[] {
  const numbers = map === '' ? [] : map.split(',').map((n) => decimal(n, 'map entry'));
  const count = numblocks === undefined ? NaN : decimal(numblocks, 'numblocks');
  if (numbers.length !== 2 * count) fail(`sparse map of ${numbers.length / 2} entries where GNU.sparse.numblocks says ${numblocks}`);
  return pairs(numbers);
}

/** The PAX 1.0 map, read a block at a time from the start of the entry's data. */
export class SparseMap1x0 {
  #text = '';
  #lines = 0;
  #wanted = 1;

  /** Adds the next block; returns the map once it is whole. */
  add(block: Buffer): Segment[] | undefined {
    this.#text += block.toString('latin1');
    if (this.#text.length > MAX_MAP_BYTES) fail('sparse map larger than 1 MiB');
    for (let at = block.indexOf(0x0a); at >= 0; at = block.indexOf(0x0a, at + 1)) this.#lines++;
    if (this.#lines < this.#wanted) return undefined;
    const lines = this.#text.split('\n');
    this.#wanted = 1 + 2 * decimal(lines[0]!, 'entry count');
    if (this.#lines < this.#wanted) return undefined;
    return pairs(lines.slice(1, this.#wanted).map((n) => decimal(n, 'map entry')));
  }
}

function pairs(numbers: number[]): Segment[] {
  const segments: Segment[] = [];
  for (let i = 0; i + 1 < numbers.length; i += 2) segments.push({ offset: numbers[i]!, length: numbers[i + 1]! });
  return segments;
}

/**
 * Checks a map as Go's archive/tar does (in order, not overlapping, inside a file of `size`
 * bytes) and that its segments hold exactly the `stored` bytes of data the archive has.
 */
export function checkSegments(segments: readonly Segment[], size: number, stored: number): void {
  let end = 0;
  let total = 0;
  for (const { offset, length } of segments) {
    if (offset < end || offset + length > size) fail(`sparse map out of order, overlapping, or beyond the file's ${size} bytes`);
    end = offset + length;
    total += length;
  }
  if (total !== stored) fail(`sparse map of ${total} bytes of data, where the archive holds ${stored}`);
}

/** Old GNU sparse ('S'): the real size and four map entries in the header, more in extension blocks after it. */
export function oldGnuSparse(block: Buffer, header: TarHeader, stored: number): SparseEntry {
  header.size = readNumber(block, 483, 12, 'sparse real size');
  return { header, stored, segments: oldGnuSegments(block, 386, 4), extended: block[482] !== 0 };
}

/** Old GNU sparse map entries (offset, length: 12 bytes each) from `at`; one starting with NUL ends them, as in GNU tar. */
export function oldGnuSegments(block: Buffer, at: number, count: number): Segment[] {
  const segments: Segment[] = [];
  for (let i = 0; i < count && block[at + 24 * i] !== 0; i++) {
    segments.push({ offset: readNumber(block, at + 24 * i, 12, 'sparse offset'), length: readNumber(block, at + 24 * i + 12, 12, 'sparse length') });
  }
  return segments;
}

/**
 * A PAX GNU sparse file, told by its records as Go's archive/tar tells it: 1.0 by its version
 * records, 0.0 and 0.1 by a map; undefined (a plain file) for another version.
 */
export function paxSparse(header: TarHeader, records: Map<string, string>, stored: number): SparseEntry | undefined {
  const version = `${records.get('GNU.sparse.major') ?? ''}.${records.get('GNU.sparse.minor') ?? ''}`;
  const map = records.get('GNU.sparse.map');
  if (version !== '1.0' && version !== '0.0' && version !== '0.1' && !(version === '.' && map !== undefined)) return undefined;
  const name = records.get('GNU.sparse.name');
  if (name) header.path = Buffer.from(name, 'latin1');
  const size = records.get('GNU.sparse.size') ?? records.get('GNU.sparse.realsize') ?? `${stored}`;
  header.size = Number(size);
  if (!/^\d+$/.test(size) || !Number.isSafeInteger(header.size)) fail(`${header.path}: invalid GNU.sparse size '${size}'`);
  if (version === '1.0') return { header, stored, segments: [], map: new SparseMap1x0() };
  return { header, stored, segments: paxSegments(map ?? '', records.get('GNU.sparse.numblocks')) };
}
