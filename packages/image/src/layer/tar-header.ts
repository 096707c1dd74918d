/**
 * A tar header block (POSIX ustar, with the GNU and old forms Go's archive/tar also reads): its
 * fields decoded into a TarHeader, with the values that PAX and GNU extended headers before it
 * gave (tar-pax.ts) taking their place.
 */
import { ImageError } from '../errors.js';

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

/** What extended headers (PAX 'x', GNU 'L' and 'K') say of the entry that follows them. */
export interface Extended {
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

export const BLOCK = 512;

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

const SLASH = Buffer.from('/');

export function fail(message: string): never {
  throw new ImageError('ELAYER', message);
}

/** The entry a header block of type `flag` describes; its size is the caller's to set (sparse files). */
export function parseHeader(block: Buffer, flag: string, extended: Extended): TarHeader {
  const ustar = block.toString('latin1', 257, 263) === 'ustar\0';
  const name =
    extended.path ?? (ustar && block[345] !== 0 ? Buffer.concat([readBytes(block, 345, 155), SLASH, readBytes(block, 0, 100)]) : readBytes(block, 0, 100));
  let type = TYPES[flag];
  if (type === undefined) fail(`${name}: unsupported tar entry type '${printable(flag)}'`);
  // Before ustar, a directory was a file whose name ends in a slash.
  if ((flag === '0' || flag === '\0') && name.at(-1) === SLASH[0]) type = 'directory';
  return {
    path: name,
    type,
    mode: readNumber(block, 100, 8, 'mode') & 0o7777,
    uid: checkId(extended.uid ?? readNumber(block, 108, 8, 'uid'), 'uid'),
    gid: checkId(extended.gid ?? readNumber(block, 116, 8, 'gid'), 'gid'),
    size: 0,
    mtime: extended.mtime ?? readNumber(block, 136, 12, 'mtime'),
    atime: extended.atime,
    linkname: extended.linkname ?? readBytes(block, 157, 100),
    devmajor: type.endsWith('device') ? readNumber(block, 329, 8, 'devmajor') : 0,
    devminor: type.endsWith('device') ? readNumber(block, 337, 8, 'devminor') : 0,
    xattrs: extended.xattrs,
  };
}

export function isZero(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i += 1) if (block[i] !== 0) return false;
  return true;
}

// The checksum field counts as eight spaces. Old tars summed signed bytes; accept both.
export function checksumMatches(block: Buffer): boolean {
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

/** Octal, NUL- or space-terminated; or GNU base-256 (high bit of the first byte set) for big values. */
export function readNumber(block: Buffer, offset: number, length: number, field: string): number {
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

/** A NUL-terminated field's bytes: a copy, since the header block is used again for the next. */
function readBytes(block: Buffer, offset: number, length: number): Buffer {
  const end = block.indexOf(0, offset);
  return Buffer.from(block.subarray(offset, end < 0 || end > offset + length ? offset + length : end));
}

/** Linux ids are 32 bits; base-256 and PAX numbers go far past that, and chown would throw a RangeError. */
function checkId(id: number, field: string): number {
  if (id > 0xffffffff) fail(`${field} ${id} in tar header is out of range`);
  return id;
}

function printable(flag: string): string {
  return /^[\x21-\x7e]$/.test(flag) ? flag : `\\x${flag.charCodeAt(0).toString(16).padStart(2, '0')}`;
}
