/**
 * Fuzzing the tar reader (packages/image/src/layer/tar.ts) with hostile archives, property-based
 * with fast-check: headers with any field values, PAX and GNU records good and bad, cut short,
 * fed in pieces of any size. The reader either reads them or throws ImageError ELAYER; every
 * header it hands on keeps its contract (integer ids and sizes, bounded metadata, content of
 * exactly `size` bytes); how the bytes are cut into chunks changes nothing; no input is slow.
 *
 * See harness/fuzz.ts for seeds and longer runs.
 */
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { bounded, fuzzParameters, MEMORY_GROWTH_MB, peakRssMB } from './harness/fuzz.js';
import { type ReadEntry, type ReadResult, readArchive } from './harness/tar-reading.js';

const ENTRY_TYPES = new Set(['file', 'hardlink', 'symlink', 'character-device', 'block-device', 'directory', 'fifo']);
/** The reader's own bound on a PAX or GNU long-name record. */
const MAX_META_SIZE = 1 << 20;

/** What every header must be, whatever the archive said: the applier relies on it. */
function checkContract({ header, pieces }: ReadEntry): void {
  const fail = (what: string) => {
    throw new Error(`${what} in ${JSON.stringify({ ...header, xattrs: header.xattrs && [...header.xattrs.keys()] })}`);
  };
  if (!Buffer.isBuffer(header.path) || !Buffer.isBuffer(header.linkname)) fail('path or linkname not bytes');
  if (header.path.includes(0) || header.linkname.includes(0)) fail('a NUL byte in path or linkname');
  if (!ENTRY_TYPES.has(header.type)) fail('unknown type');
  if (!Number.isInteger(header.mode) || header.mode < 0 || header.mode > 0o7777) fail('mode out of range');
  for (const field of ['uid', 'gid', 'size', 'devmajor', 'devminor'] as const) {
    if (!Number.isSafeInteger(header[field]) || header[field] < 0) fail(`${field} not a non-negative integer`);
  }
  if (!Number.isFinite(header.mtime) || (header.atime !== undefined && !Number.isFinite(header.atime))) fail('time not finite');
  let metadata = Buffer.byteLength(header.path) + Buffer.byteLength(header.linkname);
  for (const [key, value] of header.xattrs ?? []) metadata += Buffer.byteLength(key) + value.length;
  if (metadata > 2 * MAX_META_SIZE) fail(`${metadata} bytes of metadata`);
  // In order, apart, inside the file: where a sparse file's pieces go, and a plain file's one.
  let end = 0;
  for (const [offset, length] of pieces) {
    if (offset < end || offset + length > header.size) fail(`a piece at ${offset} (${length} bytes) after ${end}, in ${header.size}`);
    end = offset + length;
  }
}

/** A result as plain data, to compare two readings of the same archive. */
function summary(result: ReadResult): unknown {
  return {
    error: result.error,
    entries: result.entries.map(({ header, content, pieces, ended }) => ({
      ...header,
      ended,
      xattrs: header.xattrs && [...header.xattrs].map(([key, value]) => [key, value.toString('base64')]),
      content: content.toString('base64'),
      pieces,
    })),
  };
}

const BLOCK = 512;
const FIELDS = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 8],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const;
type Field = keyof typeof FIELDS;

const octal = (value: number, width: number) => Buffer.from(`${value.toString(8).padStart(width - 1, '0')}\0`, 'latin1');

/** A numeric field: octal mostly, else what odd and hostile writers put there. */
function numberField(width: number): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.nat({ max: 8 ** Math.min(width - 1, 10) - 1 }).map((v) => octal(v, width)) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '\0', '-1', '8', ' 12 ', '0x1f', '1e9', '7'.repeat(width)).map((s) => Buffer.from(s, 'latin1')) },
    // GNU base-256: the high bit set; 0xff first is negative.
    { weight: 1, arbitrary: fc.uint8Array({ minLength: width, maxLength: width }).map((b) => Buffer.from(b.map((x, i) => (i === 0 ? x | 0x80 : x)))) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: width }).map((b) => Buffer.from(b)) },
  );
}

const segment = fc.oneof(fc.stringMatching(/^[a-zA-Z0-9._-]{1,16}$/), fc.constantFrom('..', '.', '', 'é', '日本', '\u{1f600}'));
const pathText = fc.array(segment, { minLength: 1, maxLength: 12 }).map((parts) => parts.join('/'));
const textField = fc.oneof(
  { weight: 4, arbitrary: pathText.map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)) },
);

const PAX_KEYS = [
  'path',
  'linkpath',
  'size',
  'uid',
  'gid',
  'mtime',
  'atime',
  'SCHILY.xattr.user.a',
  'SCHILY.xattr.security.capability',
  'GNU.sparse.size',
  'hdrcharset',
  'comment',
  'ctime',
  '',
];
const PAX_VALUES = [
  '0',
  '1',
  '1.5',
  '-1',
  '-0',
  '1e3',
  '1e400',
  'NaN',
  'Infinity',
  '0x10',
  '',
  ' 7',
  '9007199254740993',
  '18446744073709551616',
  'dir/file',
  '../up',
];

/** "LENGTH KEY=VALUE\n" records, their lengths right mostly. */
const paxBody = fc
  .array(
    fc.record({
      key: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...PAX_KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }),
      value: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...PAX_VALUES) },
        { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
        { weight: 1, arbitrary: fc.nat().map(String) },
      ),
      lengthError: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -20, max: 20 }) }),
    }),
    { maxLength: 6 },
  )
  .map((records) =>
    Buffer.concat(
      records.map(({ key, value, lengthError }) => {
        const body = Buffer.from(` ${key}=${value}\n`);
        let length = body.length;
        while (String(length).length + body.length !== length) length = String(length).length + body.length;
        return Buffer.concat([Buffer.from(String(length + lengthError)), body]);
      }),
    ),
  );

interface Item {
  typeflag: string;
  body: Buffer;
  overrides: Partial<Record<Field, Buffer>>;
  badChecksum: boolean;
}

/** A header field set to an odd value; most headers get none or one, so they get past the first checks. */
const override: fc.Arbitrary<[Field, Buffer]> = fc.oneof(
  ...(['name', 'linkname', 'prefix'] as const).map((field) => textField.map((value): [Field, Buffer] => [field, value])),
  ...(['mode', 'uid', 'gid', 'devmajor', 'devminor'] as const).map((field) => numberField(8).map((value): [Field, Buffer] => [field, value])),
  ...(['size', 'mtime'] as const).map((field) => numberField(12).map((value): [Field, Buffer] => [field, value])),
  fc.constantFrom('ustar\x0000', 'ustar  \0', 'ustar\0\0\0', 'garbage!').map((s): [Field, Buffer] => ['magic', Buffer.from(s, 'latin1')]),
);

function itemOf(typeflags: fc.Arbitrary<string>): fc.Arbitrary<Item> {
  return fc
    .record({
      typeflag: typeflags,
      content: fc.uint8Array({ maxLength: 1300 }),
      pax: paxBody,
      longName: textField,
      overrides: fc.array(override, { maxLength: 3 }),
      badChecksum: fc.nat({ max: 19 }).map((n) => n === 0),
    })
    .map(({ typeflag, content, pax, longName, overrides, badChecksum }) => ({
      typeflag,
      body: typeflag === 'x' || typeflag === 'g' ? pax : typeflag === 'L' || typeflag === 'K' ? longName : Buffer.from(content),
      overrides: Object.fromEntries(overrides),
      badChecksum,
    }));
}

const entryFlags = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('0', '\0', '1', '2', '3', '4', '5', '6', '7') },
  { weight: 1, arbitrary: fc.constantFrom('S', 'V', 'M', 'A', 'D', 'N', '\xff') },
);
const metaFlags = fc.constantFrom('x', 'g', 'L', 'K');
/** An entry, or the records that change the entry after them (PAX, GNU long names) and that entry. */
const items = fc.oneof(
  itemOf(fc.oneof(entryFlags, metaFlags)).map((i) => [i]),
  fc.tuple(fc.array(itemOf(metaFlags), { minLength: 1, maxLength: 3 }), itemOf(entryFlags)).map(([meta, entry]) => [...meta, entry]),
);

/** A 512-byte header: the body's size unless a field says otherwise, a checksum that matches unless told. */
function headerBlock({ typeflag, body, overrides, badChecksum }: Item): Buffer {
  const block = Buffer.alloc(BLOCK);
  const put = (field: Field, value: Buffer) => value.copy(block, FIELDS[field][0], 0, Math.min(value.length, FIELDS[field][1]));
  put('name', Buffer.from('file'));
  put('mode', octal(0o644, 8));
  put('uid', octal(0, 8));
  put('gid', octal(0, 8));
  put('size', octal(body.length, 12));
  put('mtime', octal(1700000000, 12));
  put('magic', Buffer.from('ustar\x0000', 'latin1'));
  for (const [field, value] of Object.entries(overrides)) put(field as Field, value);
  put('typeflag', Buffer.from(typeflag, 'latin1'));
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  octal(badChecksum ? sum + 1 : sum, 8).copy(block, 148);
  return block;
}

const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]);

const hostileArchive = fc
  .record({
    items: fc.array(items, { maxLength: 4 }).map((groups) => groups.flat()),
    ending: fc.constantFrom('none', 'one zero block', 'two zero blocks', 'zero blocks then garbage'),
    cutAt: fc.option(fc.nat(), { freq: 4 }),
    cuts: fc.array(fc.nat({ max: 8000 }), { maxLength: 12 }),
  })
  .map(({ items, ending, cutAt, cuts }) => {
    const ends = { none: 0, 'one zero block': 1, 'two zero blocks': 2, 'zero blocks then garbage': 2 }[ending];
    let archive = Buffer.concat([...items.flatMap((i) => [headerBlock(i), padded(i.body)]), Buffer.alloc(ends * BLOCK)]);
    if (ending === 'zero blocks then garbage') archive = Buffer.concat([archive, Buffer.from('garbage after the end')]);
    if (cutAt !== null) archive = archive.subarray(0, cutAt % (archive.length + 1));
    return { archive, cuts };
  });

test('hostile archives: only ELAYER, headers keep their contract, chunking changes nothing, no input is slow', (t) => {
  const peakBefore = peakRssMB();
  fc.assert(
    fc.property(hostileArchive, ({ archive, cuts }) =>
      bounded(() => {
        const whole = readArchive(archive);
        for (const entry of whole.entries) checkContract(entry);
        assert.deepEqual(summary(readArchive(archive, cuts)), summary(whole));
      }),
    ),
    fuzzParameters(t, 1500),
  );
  t.true(peakRssMB() - peakBefore < MEMORY_GROWTH_MB, `peak RSS grew ${Math.round(peakRssMB() - peakBefore)} MB`);
});

test('random bytes: only ELAYER', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => void bounded(() => readArchive(Buffer.from(bytes)))),
    fuzzParameters(t, 500),
  );
  t.pass();
});
