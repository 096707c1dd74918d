/**
 * The tar reader keeps nothing of a chunk after feed() returns (the ISA-L inflater lends the
 * same buffers again): a PAX record cut across two chunks is read whole though the first chunk
 * was overwritten in between.
 */
import test from 'ava';
import { ImageError } from '../src/errors.js';
import { type TarHeader, TarReader } from '../src/layer/tar.js';

function block(name: string, flag: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write(flag, 156);
  header.write('ustar\x0000', 257, 'latin1');
  header.write('        ', 148);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** A PAX record: "LENGTH KEY=VALUE\n", LENGTH counting itself. */
function record(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length;
  while (`${length}`.length + body.length !== length) length = `${length}`.length + body.length;
  return `${length}${body}`;
}

/** A PAX header holding `records`, then an empty file. */
function paxThenFile(...records: string[]): Buffer {
  const pax = Buffer.from(records.join(''));
  return Buffer.concat([block('PaxHeader', 'x', pax.length), padded(pax), block('file', '0', 0), Buffer.alloc(1024)]);
}

function readAll(archive: Buffer): TarHeader[] {
  const headers: TarHeader[] = [];
  const reader = new TarReader({ entry: (header) => headers.push(header), data: () => {}, end: () => {} });
  reader.feed(archive);
  reader.finish();
  return headers;
}

test('a PAX record cut across chunks is read whole, though the chunk before was reused', (t) => {
  const name = `${'long-directory-name/'.repeat(8)}file`;
  const pax = Buffer.from(record('path', name) + record('mtime', '1700000000.5'));
  const archive = Buffer.concat([block('PaxHeader', 'x', pax.length), padded(pax), block('short', '0', 3), padded(Buffer.from('abc')), Buffer.alloc(1024)]);
  const headers: TarHeader[] = [];
  const reader = new TarReader({ entry: (header) => headers.push(header), data: () => {}, end: () => {} });
  const cut = 512 + 40; // inside the PAX record
  const chunk = Buffer.alloc(cut);
  archive.copy(chunk, 0, 0, cut);
  reader.feed(chunk);
  chunk.fill(0xff); // the buffer goes back to the inflater and is written over
  reader.feed(archive.subarray(cut));
  reader.finish();
  t.is(headers.length, 1);
  t.is(headers[0]!.path.toString(), name);
  t.is(headers[0]!.mtime, 1700000000.5);
});

/** A PAX 0.1 sparse file: `data` goes to the segments of `map` in a file of `size` bytes. */
function sparseArchive(map: string, size: number, data: string): Buffer {
  const pax = Buffer.from(
    record('GNU.sparse.map', map) + record('GNU.sparse.numblocks', `${map.split(',').length / 2}`) + record('GNU.sparse.size', `${size}`),
  );
  return Buffer.concat([block('PaxHeader', 'x', pax.length), padded(pax), block('sparse', '0', data.length), padded(Buffer.from(data)), Buffer.alloc(1024)]);
}

test("a sparse file's data comes with the offsets it goes to", (t) => {
  const archive = sparseArchive('2,3,6,1', 9, 'abcd');
  const pieces: [string, number][] = [];
  const reader = new TarReader({ entry: (header) => t.is(header.size, 9), data: (chunk, offset) => pieces.push([chunk.toString(), offset]), end: () => {} });
  const cut = 3 * 512 + 2; // the data cut after 'ab', inside the first segment's chunk
  reader.feed(archive.subarray(0, cut));
  reader.feed(archive.subarray(cut));
  reader.finish();
  t.deepEqual(pieces, [
    ['ab', 2],
    ['c', 4],
    ['d', 6],
  ]);
});

test('a sparse map that overlaps, runs past the file, or misses data is refused', (t) => {
  const refuse = (archive: Buffer) => t.throws(() => new TarReader({ entry() {}, data() {}, end() {} }).feed(archive), { instanceOf: ImageError })!.message;
  t.regex(refuse(sparseArchive('0,4,2,4', 10, 'abcdefgh')), /^sparse: sparse map out of order, overlapping/);
  t.regex(refuse(sparseArchive('0,4,8,4', 10, 'abcdefgh')), /beyond the file's 10 bytes/);
  t.regex(refuse(sparseArchive('0,4', 10, 'abcdefgh')), /sparse map of 4 bytes of data, where the archive holds 8$/);
  t.regex(refuse(sparseArchive('0,x', 10, 'abcdefgh')), /invalid sparse map entry 'x'/);
  const nul = Buffer.from(record('path', 'a\0b'));
  t.regex(refuse(Buffer.concat([block('PaxHeader', 'x', nul.length), padded(nul)])), /PAX path with a NUL byte/);
});

// Found by test/fuzz-tar-hostile.test.ts: numbers that reached the applier as a uid chown refuses with a
// RangeError (not an ImageError), or as a fractional size that the content loop cannot count down.
test('a uid, gid or size that is no 32-bit id or whole number is refused as ELAYER', (t) => {
  const cases: [Buffer, RegExp][] = [
    [paxThenFile(record('uid', '18446744073709551616')), /invalid PAX uid/],
    [paxThenFile(record('uid', '1.5')), /invalid PAX uid/],
    [paxThenFile(record('gid', '4294967296')), /gid 4294967296 in tar header is out of range/],
    [paxThenFile(record('size', '1.5')), /invalid PAX size/],
    [paxThenFile(record('size', '9007199254740993')), /invalid PAX size/],
  ];
  const base256 = block('file', '0', 0);
  Buffer.from([0x80, 0, 1, 0, 0, 0, 0, 0]).copy(base256, 108); // uid 2^40 in GNU base-256
  base256.write('        ', 148);
  let sum = 0;
  for (const byte of base256) sum += byte;
  base256.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  cases.push([Buffer.concat([base256, Buffer.alloc(1024)]), /uid 1099511627776 in tar header is out of range/]);
  for (const [archive, message] of cases) t.throws(() => readAll(archive), { instanceOf: ImageError, message });
  t.is(readAll(paxThenFile(record('uid', '4294967294'), record('mtime', '1.5')))[0]!.uid, 4294967294);
});

// The fuzzer's bounded-memory property: each PAX header is at most 1 MiB, but the xattrs of
// consecutive ones piled up (16 headers: 14400 xattrs, 15 MB), so a stream of them grew without bound.
test("the xattrs of consecutive PAX headers replace each other: an entry holds at most one header's", (t) => {
  const value = 'v'.repeat(1000);
  const headers = Array.from({ length: 16 }, (_, h) => {
    const pax = Buffer.from(Array.from({ length: 900 }, (_, i) => record(`SCHILY.xattr.user.h${h}.${i}`, value)).join(''));
    return Buffer.concat([block('PaxHeader', 'x', pax.length), padded(pax)]);
  });
  const [entry] = readAll(Buffer.concat([...headers, block('file', '0', 0), Buffer.alloc(1024)]));
  t.is(entry!.xattrs!.size, 900);
  t.true([...entry!.xattrs!.keys()].every((key) => key.startsWith('user.h15.')));
});
