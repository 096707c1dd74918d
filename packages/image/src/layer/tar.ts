/**
 * A streaming tar reader: POSIX ustar, PAX extended headers (path, linkpath, size, ids, times,
 * SCHILY.xattr.*), GNU long names and link targets, and sparse files (sparse.ts). It is
 * push-based and synchronous: the caller feeds chunks as they arrive and the handler sees each
 * entry's header, then its content as slices of those chunks. No entry is held in memory,
 * nothing is copied, and nothing waits: measured on a 190 MB, 31k-entry tar, tar-stream took
 * 1.0 s to parse it and this reader 0.23 s.
 *
 * Names and link targets are bytes, as the archive has them (tar and Linux allow any byte but
 * NUL in a name; Go's archive/tar keeps them so too): a name that is not UTF-8 stays exact.
 */
import { ImageError } from '../errors.js';
import { checkSegments, paxSegments, SparseMap1x0, type Segment } from './sparse.js';

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface TarHeader {
  /** The name's bytes as the archive gives them (not yet cleaned). */
  path: Buffer;
  type: TarEntryType;
  /** Permission bits with setuid, setgid and sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** The file's size (0 for every type but files); a sparse file's data is less, the rest holes. */
  size: number;
  /** Seconds since the epoch; fractional when a PAX record says so. */
  mtime: number;
  atime: number | undefined;
  /** Symlink target, or the archive path a hardlink points to: bytes, like `path`. */
  linkname: Buffer;
  devmajor: number;
  devminor: number;
  /** From PAX `SCHILY.xattr.NAME` records, values as raw bytes. */
  xattrs: Map<string, Buffer> | undefined;
}

export interface TarHandler {
  /** A new entry; its content follows through `data`, then `end`. */
  entry(header: TarHeader): void;
  /**
   * A piece of the current entry's content, to go at `offset` in the file; valid only during
   * the call. Pieces come in order of offset; a sparse file's leave its holes out, and the file
   * may end in one (header.size says where it ends).
   */
  data(chunk: Buffer, offset: number): void;
  end(): void;
}

const BLOCK = 512;
/** PAX and GNU long-name records are small; anything near this is hostile. */
const MAX_META_SIZE = 1 << 20;

const TYPES: Readonly<Record<string, TarEntryType>> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere but on one 1980s system
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
  S: 'file', // old GNU sparse file
};

const enum State {
  Header,
  /** Blocks that belong to the header: old GNU sparse extensions, or a PAX 1.0 sparse map. */
  SparseBlocks,
  Content,
  Meta,
  Padding,
  End,
}

interface Pending {
  path?: Buffer;
  linkname?: Buffer;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  atime?: number;
  xattrs?: Map<string, Buffer>;
  /** GNU.sparse.* records (GNU.sparse.map built from 0.0's offset and numbytes records). */
  sparse?: Map<string, string>;
}

/** An entry whose header is read but whose sparse map is not yet whole. */
interface SparseEntry {
  header: TarHeader;
  /** Bytes of data the archive holds for it (with a PAX 1.0 map at their start). */
  stored: number;
  segments: Segment[];
  /** Old GNU: extension blocks follow the header. */
  extended?: boolean;
  /** PAX 1.0: the map is at the start of the data. */
  map?: SparseMap1x0;
}

/** A whole file is one segment. */
const whole = (size: number): Segment[] => [{ offset: 0, length: size }];

function fail(message: string): never {
  throw new ImageError('ELAYER', message);
}

export class TarReader {
  #state = State.Header;
  #header = Buffer.alloc(BLOCK);
  #headerFill = 0;
  #remaining = 0;
  #padding = 0;
  #zeroBlocks = 0;
  #meta: { type: string; chunks: Buffer[] } | undefined;
  #pending: Pending = {};
  #current: Buffer | undefined;
  #sparse: SparseEntry | undefined;
  /** The current file's segments: the next one to fill, its room left, and where its next byte goes. */
  #segments: Segment[] = [];
  #segment = 0;
  #segmentLeft = 0;
  #offset = 0;
  /** Bytes of the archive fed before the current chunk, and where the last header block ended. */
  #fed = 0;
  #blockEnd = 0;

  constructor(private readonly handler: TarHandler) {}

  /** Where the current entry's data begins in the archive (read it in `entry()`): an archive file read at random. */
  get dataOffset(): number {
    return this.#blockEnd;
  }

  /** Feeds the next chunk of the uncompressed archive; nothing of it is kept after the call. */
  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      switch (this.#state) {
        case State.Header:
        case State.SparseBlocks: {
          const n = Math.min(BLOCK - this.#headerFill, chunk.length - at);
          chunk.copy(this.#header, this.#headerFill, at, at + n);
          this.#headerFill += n;
          at += n;
          if (this.#headerFill === BLOCK) {
            this.#headerFill = 0;
            this.#blockEnd = this.#fed + at;
            if (this.#state === State.Header) this.#onHeader(this.#header);
            else this.#onSparseBlock(this.#header);
          }
          break;
        }
        case State.Content: {
          const n = Math.min(this.#remaining, chunk.length - at);
          this.#deliver(chunk, at, n);
          at += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#endContent();
          break;
        }
        case State.Meta: {
          const n = Math.min(this.#remaining, chunk.length - at);
          // A copy: the record may go on in the next chunk, and a chunk is only valid during feed().
          this.#meta!.chunks.push(Buffer.from(chunk.subarray(at, at + n)));
          at += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#endMeta();
          break;
        }
        case State.Padding: {
          const n = Math.min(this.#padding, chunk.length - at);
          at += n;
          this.#padding -= n;
          if (this.#padding === 0) this.#state = State.Header;
          break;
        }
        case State.End:
          return; // the zero blocks that pad the archive to its record size
      }
    }
    this.#fed += chunk.length;
  }

  /** The archive ended: throws unless it ended between entries. */
  finish(): void {
    if (this.#state === State.End) return;
    if (this.#state === State.Header && this.#headerFill === 0 && this.#meta === undefined && Object.keys(this.#pending).length === 0) return;
    fail(`truncated tar archive${this.#current ? ` (in ${this.#current})` : ''}`);
  }

  // The content's pieces, each to its place in the file: the segments take the data in turn.
  #deliver(chunk: Buffer, at: number, n: number): void {
    while (n > 0) {
      while (this.#segmentLeft === 0) {
        const next = this.#segments[this.#segment++]!; // checkSegments: they hold every byte
        this.#offset = next.offset;
        this.#segmentLeft = next.length;
      }
      const piece = Math.min(n, this.#segmentLeft);
      this.handler.data(chunk.subarray(at, at + piece), this.#offset);
      at += piece;
      n -= piece;
      this.#offset += piece;
      this.#segmentLeft -= piece;
    }
  }

  #onHeader(block: Buffer): void {
    if (isZero(block)) {
      if (++this.#zeroBlocks === 2) this.#state = State.End;
      return;
    }
    if (this.#zeroBlocks > 0) fail('a zero block inside the archive');
    if (!checksumMatches(block)) fail(`invalid tar header checksum${this.#current ? ` after ${this.#current}` : ''}: not a tar archive, or a corrupt one`);
    const flag = String.fromCharCode(block[156]!);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      const size = readNumber(block, 124, 12, 'size');
      if (size > MAX_META_SIZE) fail(`tar ${flag} header of ${size} bytes`);
      this.#meta = { type: flag, chunks: [] };
      this.#beginData(size, State.Meta);
      if (size === 0) this.#endMeta();
      return;
    }
    const pending = this.#pending;
    this.#pending = {};
    const header = this.#parse(block, flag, pending);
    const stored = header.type === 'file' ? (pending.size ?? readNumber(block, 124, 12, 'size')) : 0;
    const sparse = header.type !== 'file' ? undefined : flag === 'S' ? oldGnuSparse(block, header, stored) : pending.sparse && paxSparse(header, pending.sparse, stored);
    if (!sparse) {
      header.size = stored;
      return this.#begin(header, stored, whole(stored));
    }
    this.#sparse = sparse;
    this.#nextSparseStep();
  }

  #parse(block: Buffer, flag: string, pending: Pending): TarHeader {
    const ustar = block.toString('latin1', 257, 263) === 'ustar\0';
    const name = pending.path ?? (ustar && block[345] !== 0 ? Buffer.concat([readBytes(block, 345, 155), SLASH, readBytes(block, 0, 100)]) : readBytes(block, 0, 100));
    let type = TYPES[flag];
    if (type === undefined) fail(`${name}: unsupported tar entry type '${printable(flag)}'`);
    // Before ustar, a directory was a file whose name ends in a slash.
    if ((flag === '0' || flag === '\0') && name.at(-1) === SLASH[0]) type = 'directory';
    return {
      path: name,
      type,
      mode: readNumber(block, 100, 8, 'mode') & 0o7777,
      uid: checkId(pending.uid ?? readNumber(block, 108, 8, 'uid'), 'uid'),
      gid: checkId(pending.gid ?? readNumber(block, 116, 8, 'gid'), 'gid'),
      size: 0,
      mtime: pending.mtime ?? readNumber(block, 136, 12, 'mtime'),
      atime: pending.atime,
      linkname: pending.linkname ?? readBytes(block, 157, 100),
      devmajor: type.endsWith('device') ? readNumber(block, 329, 8, 'devmajor') : 0,
      devminor: type.endsWith('device') ? readNumber(block, 337, 8, 'devminor') : 0,
      xattrs: pending.xattrs,
    };
  }

  // A sparse entry's map: read the blocks it still needs, or begin its data.
  #nextSparseStep(): void {
    const sparse = this.#sparse!;
    if (sparse.extended || sparse.map) {
      this.#state = State.SparseBlocks;
      return;
    }
    this.#sparse = undefined;
    this.#begin(sparse.header, sparse.stored, sparse.segments);
  }

  #onSparseBlock(block: Buffer): void {
    const sparse = this.#sparse!;
    if (sparse.extended) {
      sparse.segments.push(...oldGnuSegments(block, 0, 21));
      sparse.extended = block[504] !== 0;
    } else {
      // The 1.0 map's blocks are the first of the entry's data.
      if (sparse.stored < BLOCK) fail(`${sparse.header.path}: sparse map longer than the entry`);
      sparse.stored -= BLOCK;
      const segments = sparse.map!.add(block);
      if (segments) {
        sparse.segments = segments;
        sparse.map = undefined;
      }
    }
    this.#nextSparseStep();
  }

  // The entry goes to the handler, and its `stored` bytes of data to `segments` of the file.
  #begin(header: TarHeader, stored: number, segments: Segment[]): void {
    if (header.type === 'file') {
      try {
        checkSegments(segments, header.size, stored);
      } catch (error) {
        fail(`${header.path}: ${(error as Error).message}`);
      }
    }
    this.#current = header.path;
    this.#segments = segments;
    this.#segment = 0;
    this.#segmentLeft = 0;
    this.handler.entry(header);
    this.#beginData(stored, State.Content);
    if (stored === 0) this.#endContent();
  }

  #beginData(size: number, state: State): void {
    this.#remaining = size;
    this.#padding = (BLOCK - (size % BLOCK)) % BLOCK;
    this.#state = state;
  }

  #endContent(): void {
    this.handler.end();
    this.#state = this.#padding > 0 ? State.Padding : State.Header;
  }

  #endMeta(): void {
    const { type, chunks } = this.#meta!;
    this.#meta = undefined;
    this.#state = this.#padding > 0 ? State.Padding : State.Header;
    const data = Buffer.concat(chunks);
    if (type === 'L') this.#pending.path = cString(data);
    else if (type === 'K') this.#pending.linkname = cString(data);
    else if (type === 'x') this.#applyPax(data);
    // 'g' (global records: comments from git archive and the like) change nothing we apply.
  }

  #applyPax(data: Buffer): void {
    // One PAX header's xattrs apply, the last one's, as in Go's archive/tar (Python's tarfile keeps
    // the first's): piled up, a stream of 1 MiB headers would hold memory without bound.
    this.#pending.xattrs = undefined;
    for (const [key, value] of paxRecords(data)) {
      const text = () => value.toString('utf8');
      const number = () => {
        const parsed = Number(text());
        if (!Number.isFinite(parsed) || parsed < 0) fail(`invalid PAX ${key} '${text()}'`);
        return parsed;
      };
      const integer = () => {
        const parsed = number();
        if (!Number.isSafeInteger(parsed)) fail(`invalid PAX ${key} '${text()}'`);
        return parsed;
      };
      if (key === 'path') this.#pending.path = name(key, value);
      else if (key === 'linkpath') this.#pending.linkname = name(key, value);
      else if (key === 'size') this.#pending.size = integer();
      else if (key === 'uid') this.#pending.uid = integer();
      else if (key === 'gid') this.#pending.gid = integer();
      else if (key === 'mtime') this.#pending.mtime = number();
      else if (key === 'atime') this.#pending.atime = number();
      else if (key.startsWith('SCHILY.xattr.')) (this.#pending.xattrs ??= new Map()).set(key.slice('SCHILY.xattr.'.length), value);
      else if (key.startsWith('GNU.sparse.')) this.#sparseRecord(key, value.toString('latin1'));
    }
  }

  // 0.0 gives its map as offset and numbytes records in turn; kept as 0.1's GNU.sparse.map.
  #sparseRecord(key: string, value: string): void {
    const records = (this.#pending.sparse ??= new Map());
    if (key !== 'GNU.sparse.offset' && key !== 'GNU.sparse.numbytes') return void records.set(key, value);
    const map = records.get('GNU.sparse.map');
    const entries = map === undefined ? 0 : map.split(',').length;
    if ((key === 'GNU.sparse.offset') !== (entries % 2 === 0) || value.includes(',')) fail(`misplaced PAX ${key} record`);
    records.set('GNU.sparse.map', map === undefined ? value : `${map},${value}`);
  }
}

/** PAX records: "LENGTH KEY=VALUE\n", LENGTH counting the whole record. */
function* paxRecords(data: Buffer): Generator<[string, Buffer]> {
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = space > at ? Number(data.toString('latin1', at, space)) : NaN;
    if (!Number.isInteger(length) || length <= space - at + 1 || at + length > data.length || data[at + length - 1] !== 0x0a) {
      fail('malformed PAX extended header');
    }
    const record = data.subarray(space + 1, at + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) fail('malformed PAX extended header record');
    yield [record.toString('utf8', 0, equals), record.subarray(equals + 1)];
    at += length;
  }
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i += 1) if (block[i] !== 0) return false;
  return true;
}

// The checksum field counts as eight spaces. Old tars summed signed bytes; accept both.
function checksumMatches(block: Buffer): boolean {
  let stored: number;
  try {
    stored = readNumber(block, 148, 8, 'checksum');
  } catch {
    return false; // not even a number there
  }
  let unsigned = 8 * 0x20;
  for (let i = 0; i < 148; i++) unsigned += block[i]!;
  for (let i = 156; i < BLOCK; i++) unsigned += block[i]!;
  if (stored === unsigned) return true;
  let high = 0; // bytes above 127 count 256 less when signed
  for (let i = 0; i < BLOCK; i++) if ((i < 148 || i >= 156) && block[i]! > 127) high++;
  return stored === unsigned - 256 * high;
}

const SLASH = Buffer.from('/');

/** A NUL-terminated field's bytes: a copy, since the header block is used again for the next. */
function readBytes(block: Buffer, offset: number, length: number): Buffer {
  const end = block.indexOf(0, offset);
  return Buffer.from(block.subarray(offset, end < 0 || end > offset + length ? offset + length : end));
}

function cString(data: Buffer): Buffer {
  const end = data.indexOf(0);
  return data.subarray(0, end < 0 ? data.length : end);
}

/** A PAX path or linkpath: bytes, which Go's archive/tar also refuses to hold a NUL. */
function name(key: string, value: Buffer): Buffer {
  if (value.includes(0)) fail(`PAX ${key} with a NUL byte`);
  return value;
}

/** Old GNU sparse ('S'): the real size and four map entries in the header, more in extension blocks after it. */
function oldGnuSparse(block: Buffer, header: TarHeader, stored: number): SparseEntry {
  header.size = readNumber(block, 483, 12, 'sparse real size');
  return { header, stored, segments: oldGnuSegments(block, 386, 4), extended: block[482] !== 0 };
}

/**
 * A PAX GNU sparse file, told by its records as Go's archive/tar tells it: 1.0 by its version
 * records, 0.0 and 0.1 by a map; undefined (a plain file) for another version.
 */
function paxSparse(header: TarHeader, records: Map<string, string>, stored: number): SparseEntry | undefined {
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

/** Old GNU sparse map entries (offset, length: 12 bytes each) from `at`; one starting with NUL ends them, as in GNU tar. */
function oldGnuSegments(block: Buffer, at: number, count: number): Segment[] {
  const segments: Segment[] = [];
  for (let i = 0; i < count && block[at + 24 * i] !== 0; i++) {
    segments.push({ offset: readNumber(block, at + 24 * i, 12, 'sparse offset'), length: readNumber(block, at + 24 * i + 12, 12, 'sparse length') });
  }
  return segments;
}

/** Octal, NUL- or space-terminated; or GNU base-256 (high bit of the first byte set) for big values. */
function readNumber(block: Buffer, offset: number, length: number, field: string): number {
  if (block[offset]! & 0x80) {
    if (block[offset] === 0xff) fail(`negative ${field} in tar header`);
    let value = block[offset]! & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + block[offset + i]!;
    if (!Number.isSafeInteger(value)) fail(`${field} in tar header is too large`);
    return value;
  }
  let value = 0;
  let i = offset;
  const end = offset + length;
  while (i < end && block[i] === 0x20) i++;
  for (; i < end; i++) {
    const byte = block[i]!;
    if (byte === 0 || byte === 0x20) break;
    if (byte < 0x30 || byte > 0x37) fail(`invalid ${field} in tar header`);
    value = value * 8 + (byte - 0x30);
  }
  return value;
}

/** Linux ids are 32 bits; base-256 and PAX numbers go far past that, and chown would throw a RangeError. */
function checkId(id: number, field: string): number {
  if (id > 0xffffffff) fail(`${field} ${id} in tar header is out of range`);
  return id;
}

function printable(flag: string): string {
  return /^[\x21-\x7e]$/.test(flag) ? flag : `\\x${flag.charCodeAt(0).toString(16).padStart(2, '0')}`;
}
