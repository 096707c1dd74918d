/**
 * Fuzzing the tar reader (packages/image/src/layer/tar.ts), property-based with fast-check:
 *
 * - hostile archives (headers with any field values, PAX and GNU records good and bad, cut short,
 *   fed in pieces of any size): the reader either reads them or throws ImageError ELAYER; every
 *   header it hands on keeps its contract (integer ids and sizes, bounded metadata, content of
 *   exactly `size` bytes); how the bytes are cut into chunks changes nothing; no input is slow.
 * - valid archives written by Python's tarfile (ustar, GNU, PAX) and by GNU tar (from real file
 *   trees): the reader sees exactly what tarfile reads from them.
 *
 * See harness/fuzz.ts for seeds and longer runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { ImageError } from '@oci/image';
import { TarReader, type TarHeader } from '@oci/image/layer/tar';
import { bounded, expectTyped, fuzzParameters, MEMORY_GROWTH_MB, peakRssMB } from './harness/fuzz.js';
import { startTarfilePeer, type PeerEntry, type PeerMember } from './harness/tarfile-peer.js';
import { tempDir } from './harness/tmp.js';

// ---- reading ---------------------------------------------------------------------------------

interface ReadEntry {
  header: TarHeader;
  /** The data pieces, joined (a sparse file's holes left out). */
  content: Buffer;
  /** Where each piece goes in the file, as [offset, length]. */
  pieces: [number, number][];
  /** False for the entry an error cut short. */
  ended: boolean;
}

interface ReadResult {
  entries: ReadEntry[];
  /** The ImageError that stopped the reader, if one did. */
  error?: string;
}

/** Feeds `archive` cut at `cuts` (offsets) and checks the handler calls come in order. */
function read(archive: Buffer, cuts: readonly number[] = []): ReadResult {
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

const ENTRY_TYPES = new Set(['file', 'hardlink', 'symlink', 'character-device', 'block-device', 'directory', 'fifo']);
/** The reader's own bound on a PAX or GNU long-name record. */
const MAX_META_SIZE = 1 << 20;

/** What every header must be, whatever the archive said: the applier relies on it. */
function checkContract({ header, pieces, ended }: ReadEntry): void {
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

// ---- hostile archives ------------------------------------------------------------------------

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
const textField = fc.oneof({ weight: 4, arbitrary: pathText.map((s) => Buffer.from(s)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)) });

const PAX_KEYS = ['path', 'linkpath', 'size', 'uid', 'gid', 'mtime', 'atime', 'SCHILY.xattr.user.a', 'SCHILY.xattr.security.capability', 'GNU.sparse.size', 'hdrcharset', 'comment', 'ctime', ''];
const PAX_VALUES = ['0', '1', '1.5', '-1', '-0', '1e3', '1e400', 'NaN', 'Infinity', '0x10', '', ' 7', '9007199254740993', '18446744073709551616', 'dir/file', '../up'];

/** "LENGTH KEY=VALUE\n" records, their lengths right mostly. */
const paxBody = fc
  .array(
    fc.record({
      key: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...PAX_KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }),
      value: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...PAX_VALUES) }, { weight: 2, arbitrary: fc.string({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.nat().map(String) }),
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

const entryFlags = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('0', '\0', '1', '2', '3', '4', '5', '6', '7') }, { weight: 1, arbitrary: fc.constantFrom('S', 'V', 'M', 'A', 'D', 'N', '\xff') });
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
        const whole = read(archive);
        for (const entry of whole.entries) checkContract(entry);
        assert.deepEqual(summary(read(archive, cuts)), summary(whole));
      }),
    ),
    fuzzParameters(t, 1500),
  );
  t.true(peakRssMB() - peakBefore < MEMORY_GROWTH_MB, `peak RSS grew ${Math.round(peakRssMB() - peakBefore)} MB`);
});

test('random bytes: only ELAYER', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => void bounded(() => read(Buffer.from(bytes)))),
    fuzzParameters(t, 500),
  );
  t.pass();
});

// ---- valid archives, against Python's tarfile -------------------------------------------------

// Lengths spread to the maximum: names past 100 bytes (GNU long names, PAX paths, ustar prefixes) are common.
const nameSegment = fc.oneof({ weight: 6, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,40}$/, { size: 'medium' }) }, { weight: 1, arbitrary: fc.constantFrom('é', 'naïve', '日本語', '\u{1f600}') });

interface EntryOptions {
  /** Longest name, in segments: ustar holds 255 bytes at most (and only where a slash splits it). */
  segments: number;
  maxId: number;
  fractionalTimes: boolean;
  xattrs: boolean;
}

/** One entry of a valid archive; a hardlink's target is fixed up by the caller. */
function validEntry({ segments, maxId, fractionalTimes, xattrs }: EntryOptions): fc.Arbitrary<PeerEntry> {
  return fc.record({
    name: fc.array(nameSegment, { minLength: 1, maxLength: segments, size: 'max' }).map((parts) => parts.join('/')),
    type: fc.constantFrom('file', 'file', 'file', 'directory', 'symlink', 'hardlink', 'fifo', 'character-device', 'block-device'),
    mode: fc.nat({ max: 0o7777 }),
    uid: fc.oneof(fc.nat({ max: 65535 }), fc.nat({ max: maxId })),
    gid: fc.oneof(fc.nat({ max: 65535 }), fc.nat({ max: maxId })),
    mtime: fc
      .tuple(fc.nat({ max: 2 ** 33 - 1 }), fc.nat({ max: 999 }))
      .map(([seconds, ms]) => (fractionalTimes && ms > 0 ? seconds + ms / 1000 : seconds)),
    linkname: fc.array(nameSegment, { minLength: 1, maxLength: segments, size: 'max' }).map((parts) => parts.join('/')),
    devmajor: fc.nat({ max: 4095 }),
    devminor: fc.nat({ max: 1048575 }),
    content: fc.uint8Array({ maxLength: 1500 }).map((b) => Buffer.from(b).toString('base64')),
    xattrs: xattrs ? fc.dictionary(fc.stringMatching(/^user\.[a-z]{1,8}$/), fc.stringMatching(/^[ -~]{0,30}$/), { maxKeys: 3 }) : fc.constant({}),
  });
}

/** A hardlink points at an earlier file (tarfile writes what it is given; GNU tar needs a real one). */
function linkHardlinks(entries: PeerEntry[]): PeerEntry[] {
  return entries.map((entry, i) => {
    if (entry.type !== 'hardlink') return entry;
    const target = entries.slice(0, i).find((e) => e.type === 'file');
    return target ? { ...entry, linkname: target.name } : { ...entry, type: 'file' };
  });
}

/** Our reading in tarfile's terms: directories without their trailing slash, names as UTF-8
    (the generated names all are), content as a digest. */
function asPeerMember({ header, content }: ReadEntry): PeerMember {
  const isDevice = header.type.endsWith('device');
  const name = header.path.toString('utf8');
  return {
    name: header.type === 'directory' ? name.replace(/(?<=.)\/+$/, '') : name,
    type: header.type,
    mode: header.mode,
    uid: header.uid,
    gid: header.gid,
    size: header.size,
    mtime: header.mtime,
    atime: header.atime ?? null,
    linkname: header.linkname.toString('utf8'),
    devmajor: isDevice ? header.devmajor : 0,
    devminor: isDevice ? header.devminor : 0,
    xattrs: Object.fromEntries([...(header.xattrs ?? [])].map(([key, value]) => [key, value.toString('utf8')])),
    sha256: createHash('sha256').update(content).digest('hex'),
  };
}

/** tarfile keeps devmajor/devminor of every member as written; only devices' mean anything. */
const withoutDeviceNumbersOfNonDevices = (m: PeerMember): PeerMember => (m.type.endsWith('device') ? m : { ...m, devmajor: 0, devminor: 0 });

const FORMATS = {
  ustar: { segments: 5, maxId: 8 ** 7 - 1, fractionalTimes: false, xattrs: false },
  gnu: { segments: 12, maxId: 2 ** 32 - 2, fractionalTimes: false, xattrs: false },
  pax: { segments: 12, maxId: 2 ** 32 - 2, fractionalTimes: true, xattrs: true },
} as const;

test('archives written by Python tarfile (ustar, GNU, PAX) read as tarfile reads them', async (t) => {
  const peer = startTarfilePeer();
  t.teardown(() => peer.stop());
  const archives = fc.constantFrom('ustar', 'gnu', 'pax').chain((format) =>
    fc.record({ format: fc.constant(format), entries: fc.array(validEntry(FORMATS[format]), { minLength: 1, maxLength: 8 }).map(linkHardlinks), cuts: fc.array(fc.nat({ max: 20000 }), { maxLength: 4 }) }),
  );
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(archives, async ({ format, entries, cuts }) => {
      const answer = await peer.ask({ op: 'write', format, entries });
      if ('refused' in answer) {
        refused++; // a ustar name that no slash splits into 155 + 100 bytes
        return;
      }
      const ours = read(Buffer.from(answer.archive, 'base64'), cuts);
      assert.equal(ours.error, undefined);
      assert.deepEqual(ours.entries.map(asPeerMember), answer.members.map(withoutDeviceNumbersOfNonDevices));
    }),
    fuzzParameters(t, 200),
  );
  t.log(`${refused} archives tarfile refused to write`);
  t.pass();
});

test('archives GNU tar wrote from real file trees (GNU, PAX with xattrs) read as tarfile reads them', async (t) => {
  const peer = startTarfilePeer();
  t.teardown(() => peer.stop());
  const trees = fc.record({
    format: fc.constantFrom('gnu', 'pax'),
    // A tree needs unique names: each entry gets its own numbered leaf (~N…, a name no directory has).
    dirs: fc.array(fc.array(nameSegment, { minLength: 1, maxLength: 5 }).map((p) => p.join('/')), { minLength: 1, maxLength: 3 }),
    entries: fc.array(fc.tuple(fc.nat(), validEntry(FORMATS.pax)), { minLength: 1, maxLength: 8 }),
  });
  await fc.assert(
    fc.asyncProperty(trees, async ({ format, dirs, entries }) => {
      const { dir, remove } = tempDir('fuzz-tree');
      try {
        const tree = linkHardlinks(
          entries.map(([d, entry], i) => ({ ...entry, name: `${dirs[d % dirs.length]}/~${i}${entry.name.split('/').at(-1)}`, mtime: entry.mtime % 2 ** 31 })),
        );
        const laid = await peer.ask({ op: 'tree', dir, entries: tree });
        assert.ok(!('refused' in laid), JSON.stringify(laid));
        const tar = spawnSync('tar', [`--format=${format}`, ...(format === 'pax' ? ['--xattrs', '--xattrs-include=user.*'] : []), '--sort=name', '-C', dir, '-cf', '-', '.'], { maxBuffer: 1 << 26 });
        assert.equal(tar.status, 0, String(tar.stderr));
        const answer = await peer.ask({ op: 'read', archive: tar.stdout.toString('base64') });
        assert.ok(!('refused' in answer), JSON.stringify(answer));
        const ours = read(tar.stdout);
        assert.equal(ours.error, undefined);
        assert.deepEqual(ours.entries.map(asPeerMember), (answer as { members: PeerMember[] }).members.map(withoutDeviceNumbersOfNonDevices));
      } finally {
        remove();
      }
    }),
    fuzzParameters(t, 30),
  );
  t.pass();
});
