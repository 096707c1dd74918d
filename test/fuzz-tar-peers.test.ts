/**
 * The tar reader (packages/image/src/layer/tar.ts) against Python's tarfile, property-based with
 * fast-check: valid archives written by tarfile (ustar, GNU, PAX) and by GNU tar (from real file
 * trees) read as tarfile reads them, however they are cut into chunks.
 *
 * See harness/fuzz.ts for seeds and longer runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { fuzzParameters } from './harness/fuzz.js';
import { type ReadEntry, readArchive } from './harness/tar-reading.js';
import { type PeerEntry, type PeerMember, startTarfilePeer } from './harness/tarfile-peer.js';
import { tempDir } from './harness/tmp.js';

// Lengths spread to the maximum: names past 100 bytes (GNU long names, PAX paths, ustar prefixes) are common.
const nameSegment = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,40}$/, { size: 'medium' }) },
  { weight: 1, arbitrary: fc.constantFrom('é', 'naïve', '日本語', '\u{1f600}') },
);

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
    mtime: fc.tuple(fc.nat({ max: 2 ** 33 - 1 }), fc.nat({ max: 999 })).map(([seconds, ms]) => (fractionalTimes && ms > 0 ? seconds + ms / 1000 : seconds)),
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
    fc.record({
      format: fc.constant(format),
      entries: fc.array(validEntry(FORMATS[format]), { minLength: 1, maxLength: 8 }).map(linkHardlinks),
      cuts: fc.array(fc.nat({ max: 20000 }), { maxLength: 4 }),
    }),
  );
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(archives, async ({ format, entries, cuts }) => {
      const answer = await peer.ask({ op: 'write', format, entries });
      if ('refused' in answer) {
        refused++; // a ustar name that no slash splits into 155 + 100 bytes
        return;
      }
      const ours = readArchive(Buffer.from(answer.archive, 'base64'), cuts);
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
    dirs: fc.array(
      fc.array(nameSegment, { minLength: 1, maxLength: 5 }).map((p) => p.join('/')),
      { minLength: 1, maxLength: 3 },
    ),
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
        const tar = spawnSync(
          'tar',
          [`--format=${format}`, ...(format === 'pax' ? ['--xattrs', '--xattrs-include=user.*'] : []), '--sort=name', '-C', dir, '-cf', '-', '.'],
          { maxBuffer: 1 << 26 },
        );
        assert.equal(tar.status, 0, String(tar.stderr));
        const answer = await peer.ask({ op: 'read', archive: tar.stdout.toString('base64') });
        assert.ok(!('refused' in answer), JSON.stringify(answer));
        const ours = readArchive(tar.stdout);
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
