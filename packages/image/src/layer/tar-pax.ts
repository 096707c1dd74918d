/**
 * Extended headers: a PAX 'x' header's records (path, linkpath, size, ids, times,
 * SCHILY.xattr.*, GNU.sparse.*) and GNU's long names ('L') and link targets ('K'), which apply to
 * the entry that follows them.
 */
import { type Extended, fail } from './tar-header.js';

/** Applies an extended header of type `type` ('x', 'L', 'K' or 'g') to what the next entry will have. */
export function applyExtended(extended: Extended, type: string, data: Buffer): void {
  if (type === 'L') extended.path = cString(data);
  else if (type === 'K') extended.linkname = cString(data);
  else if (type === 'x') applyPax(extended, data);
  // 'g' (global records: comments from git archive and the like) change nothing we apply.
}

function applyPax(extended: Extended, data: Buffer): void {
  // One PAX header's xattrs apply, the last one's, as in Go's archive/tar (Python's tarfile keeps
  // the first's): piled up, a stream of 1 MiB headers would hold memory without bound.
  extended.xattrs = undefined;
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
    if (key === 'path') extended.path = name(key, value);
    else if (key === 'linkpath') extended.linkname = name(key, value);
    else if (key === 'size') extended.size = integer();
    else if (key === 'uid') extended.uid = integer();
    else if (key === 'gid') extended.gid = integer();
    else if (key === 'mtime') extended.mtime = number();
    else if (key === 'atime') extended.atime = number();
    else if (key.startsWith('SCHILY.xattr.')) (extended.xattrs ??= new Map()).set(key.slice('SCHILY.xattr.'.length), value);
    else if (key.startsWith('GNU.sparse.')) sparseRecord(extended, key, value.toString('latin1'));
  }
}

// 0.0 gives its map as offset and numbytes records in turn; kept as 0.1's GNU.sparse.map.
function sparseRecord(extended: Extended, key: string, value: string): void {
  const records = (extended.sparse ??= new Map());
  if (key !== 'GNU.sparse.offset' && key !== 'GNU.sparse.numbytes') return void records.set(key, value);
  const map = records.get('GNU.sparse.map');
  const entries = map === undefined ? 0 : map.split(',').length;
  if ((key === 'GNU.sparse.offset') !== (entries % 2 === 0) || value.includes(',')) fail(`misplaced PAX ${key} record`);
  records.set('GNU.sparse.map', map === undefined ? value : `${map},${value}`);
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

function cString(data: Buffer): Buffer {
  const end = data.indexOf(0);
  return data.subarray(0, end < 0 ? data.length : end);
}

/** A PAX path or linkpath: bytes, which Go's archive/tar also refuses to hold a NUL. */
function name(key: string, value: Buffer): Buffer {
  if (value.includes(0)) fail(`PAX ${key} with a NUL byte`);
  return value;
}
