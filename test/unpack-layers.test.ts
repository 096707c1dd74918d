/**
 * The layer rules, entry types and umoci parity, on images pushed to the real registry and
 * pulled back into a store, then unpacked by the library and by umoci (Debian's, a peer).
 */

import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, lstatSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { parseIdMap, type SkippedItem, Store, type UnpackProgress, unpack } from '@oci/image';
import test from 'ava';
import { type BuiltImage, buildImage, pullImage, pushLayout, tarLayer, writeLayout } from './harness/images.js';
import { CAPABILITY, kitchenSink, LONG_DIR, LONG_NAME, T1, T2 } from './harness/kitchen-sink.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { tempDir } from './harness/tmp.js';
import { snapshot, treeDiff } from './harness/tree.js';

let registry: Registry;
test.before(async () => {
  registry = await startRegistry();
});
test.after.always(async () => {
  await registry?.stop();
});

/** Pushes `image` to the registry, pulls it into a fresh store; returns the store and name. */
function throughRegistry(t: { teardown(fn: () => void): void }, image: BuiltImage, repository: string): { store: string; name: string } {
  const layout = tempDir('layout');
  const store = tempDir('store');
  t.teardown(layout.remove);
  t.teardown(store.remove);
  writeLayout(layout.dir, { latest: image });
  const ref = `${registry.host}/${repository}:latest`;
  pushLayout(layout.dir, 'latest', ref);
  return { store: store.dir, name: pullImage(ref, store.dir) };
}

test('three layers: every entry type, whiteouts, opaque directories and replacements, as umoci unpacks them', async (t) => {
  const image = buildImage(await kitchenSink());
  const { store, name } = throughRegistry(t, image, 'test/kitchen-sink');
  const ours = tempDir('ours');
  const theirs = tempDir('umoci');
  t.teardown(ours.remove);
  t.teardown(theirs.remove);

  const progress: UnpackProgress[] = [];
  const result = await unpack({ store: await Store.open(store), image: name }, `${ours.dir}/rootfs`, { onProgress: (p) => progress.push(p) });
  t.deepEqual(result.skipped, []);
  t.deepEqual(
    progress.filter((p) => p.done).map((p) => [p.layer, p.layers]),
    [
      [1, 3],
      [2, 3],
      [3, 3],
    ],
  );
  const umoci = spawnSync('umoci', ['unpack', '--image', `${store}:${name}`, `${theirs.dir}/bundle`], { encoding: 'utf8' });
  t.is(umoci.status, 0, umoci.stderr);

  const tree = snapshot(`${ours.dir}/rootfs`);
  t.deepEqual(treeDiff(tree, snapshot(`${theirs.dir}/bundle/rootfs`)), []);

  // What the rules say, spelled out (so the test stands even if umoci were wrong the same way).
  t.is(tree['bin/tool']!.mode, '4755');
  t.is(tree['bin/group-tool']!.mode, '2711');
  t.deepEqual([tree['bin/group-tool']!.uid, tree['bin/group-tool']!.gid], [1000, 1001]);
  t.is(tree['bin/tool']!.mtime, T1.getTime() / 1000);
  t.is(tree['bin/sh']!.mtime, T2.getTime() / 1000, 'symlink mtimes are set without following');
  t.is(tree['bin/tool-link']!.hardlinkGroup, 'bin/tool');
  t.is(tree['bin/ping']!.xattrs?.['security.capability'], CAPABILITY.toString('base64'));
  t.is(tree['home/user/notes']!.xattrs?.['user.comment'], Buffer.from('hello').toString('base64'));
  t.is(tree.tmp!.mode, '1777');
  t.deepEqual([tree['dev/null']!.type, tree['dev/null']!.rdev], ['character-device', (1 << 8) | 3]);
  t.deepEqual([tree['dev/loop9']!.type, tree['dev/loop9']!.rdev, tree['dev/loop9']!.gid], ['block-device', (7 << 8) | 9, 6]);
  t.deepEqual([tree['dev/pipe']!.type, tree['dev/pipe']!.mode], ['fifo', '0620']);
  t.is(tree[`${LONG_DIR}/${LONG_NAME}`]!.type, 'file');
  t.is(tree['pax/long-target']!.link, `/${'t'.repeat(130)}`);
  t.is(tree['bin/dangling']!.link, '../nowhere/at/all');
  t.false('lower/gone' in tree);
  t.false('lower/gone-dir' in tree);
  t.is(tree['lower/file-to-dir']!.type, 'directory');
  t.false('lower/file-to-dir/child' in tree, 'a whiteout in layer 3 removes what layer 2 added');
  t.is(tree['lower/dir-to-file']!.type, 'file');
  t.false('lower/dir-to-file/child' in tree);
  t.deepEqual([tree['lower/file-to-symlink']!.type, tree['lower/file-to-symlink']!.link], ['symlink', 'rewritten']);
  t.deepEqual([tree['lower/symlink-to-dir']!.type, tree['lower/symlink-to-dir']!.mode], ['directory', '0700']);
  t.is(readFileSync(`${ours.dir}/rootfs/lower/rewritten`, 'utf8'), 'version 2');
  t.deepEqual([tree['lower/chmod']!.mode, tree['lower/chmod']!.uid, tree['lower/chmod']!.gid], ['0705', 7, 8]);
  t.true('lower/chmod/kept' in tree);
  t.false('lower/hardlink-down' in tree);
  t.is(tree['etc/hostname']!.hardlinkGroup, undefined, 'the hardlink to a lower layer was whited out again');
  t.deepEqual(
    Object.keys(tree)
      .filter((p) => p.startsWith('opaque/'))
      .sort(),
    ['opaque/new-after', 'opaque/new-before', 'opaque/sub', 'opaque/sub/deep3'],
  );
  t.is(tree.opaque!.mode, '0751');
  // Directory times are set once their contents are in: the archive's, not the time of unpacking.
  const EPOCH = Date.parse('2024-01-01T00:00:00Z');
  for (const dir of ['bin', 'opaque', 'opaque/sub', 'lower/symlink-to-dir']) t.is(statSync(`${ours.dir}/rootfs/${dir}`).mtimeMs, EPOCH, dir);
  t.is(tree.again!.type, 'directory');
});

test('a hardlink to a file of a lower layer shares its inode', async (t) => {
  const image = buildImage([
    await tarLayer([
      { path: 'etc/', type: 'directory' },
      { path: 'etc/base', content: 'from layer 1' },
    ]),
    await tarLayer([
      { path: 'usr/', type: 'directory' },
      { path: 'usr/copy', type: 'link', linkname: './etc/base' },
    ]),
  ]);
  const { store, name } = throughRegistry(t, image, 'test/hardlink-down');
  const out = tempDir('out');
  t.teardown(out.remove);
  await unpack({ store: await Store.open(store), image: name }, `${out.dir}/rootfs`);
  const base = statSync(`${out.dir}/rootfs/etc/base`);
  t.is(statSync(`${out.dir}/rootfs/usr/copy`).ino, base.ino);
  t.is(base.nlink, 2);
});

test('rootless: no chown, devices skipped and reported, fifos and modes kept', async (t) => {
  const layer = await tarLayer([
    { path: 'ro/', type: 'directory', mode: 0o555, uid: 1000 },
    { path: 'ro/file', mode: 0o640, uid: 1000, gid: 1000, content: 'inside a read-only directory' },
    { path: 'null', type: 'character-device', devmajor: 1, devminor: 3 },
    { path: 'pipe', type: 'fifo', mode: 0o600 },
  ]);
  const out = tempDir('out');
  t.teardown(out.remove);
  const skipped: SkippedItem[] = [];
  await unpack({ layers: [{ stream: [layer] as unknown as AsyncIterable<Uint8Array> }] }, `${out.dir}/rootfs`, {
    rootless: true,
    onSkip: (s) => skipped.push(s),
  });
  t.deepEqual(skipped, [{ path: '/null', what: 'device', reason: 'rootless' }]);
  const file = statSync(`${out.dir}/rootfs/ro/file`);
  t.deepEqual([file.uid, file.gid, file.mode & 0o777], [process.getuid!(), process.getgid!(), 0o640]);
  t.is(statSync(`${out.dir}/rootfs/ro`).mode & 0o7777, 0o555, 'the final mode, once the children are in');
  t.true(lstatSync(`${out.dir}/rootfs/pipe`).isFIFO());
});

test('without the native addon: devices, fifos and xattrs are reported as skipped, paths still contained', async (t) => {
  const layer = await tarLayer([
    { path: 'null', type: 'character-device', devmajor: 1, devminor: 3 },
    { path: 'pipe', type: 'fifo' },
    { path: 'file', content: 'x', pax: { 'SCHILY.xattr.user.k': 'v' } },
  ]);
  const out = tempDir('out');
  t.teardown(out.remove);
  const result = await unpack({ layers: [{ stream: [layer] as unknown as AsyncIterable<Uint8Array> }] }, `${out.dir}/rootfs`, { addon: null });
  t.deepEqual(
    result.skipped.map((s) => [s.path, s.what]),
    [
      ['/null', 'device'],
      ['/pipe', 'fifo'],
      ['/file', 'xattr'],
    ],
  );
  t.is(readFileSync(`${out.dir}/rootfs/file`, 'utf8'), 'x');
});

test('--uid-map/--gid-map shift owners into a user namespace range', async (t) => {
  const layer = await tarLayer([
    { path: 'root-file', content: 'r' },
    { path: 'user-file', uid: 1000, gid: 100, content: 'u' },
    { path: 'link', type: 'symlink', linkname: 'user-file', uid: 5, gid: 5 },
  ]);
  const out = tempDir('out');
  t.teardown(out.remove);
  await unpack({ layers: [{ stream: [layer] as unknown as AsyncIterable<Uint8Array> }] }, `${out.dir}/rootfs`, {
    uidMap: parseIdMap('0:100000:65536'),
    gidMap: parseIdMap('0:200000:65536'),
  });
  const owner = (p: string) => {
    const s = lstatSync(`${out.dir}/rootfs/${p}`);
    return [s.uid, s.gid];
  };
  t.deepEqual(owner('root-file'), [100000, 200000]);
  t.deepEqual(owner('user-file'), [101000, 200100]);
  t.deepEqual(owner('link'), [100005, 200005]);
  t.deepEqual(owner(''), [100000, 200000], 'the rootfs itself belongs to the container root');
});

test("zstd, gzip and plain layers unpack, under OCI and Docker media types (containerd accepts Docker's plain and zstd ones too)", async (t) => {
  const files = (n: number) => tarLayer([{ path: `layer${n}`, content: `content ${n}`.repeat(1000) }]);
  const zstd = (tar: Buffer) => spawnSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 1 << 30 }).stdout;
  const gzip = (tar: Buffer) => Buffer.from(spawnSync('gzip', ['-c'], { input: tar }).stdout);
  const encodings = [
    (tar: Buffer) => ({ data: zstd(tar), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }),
    (tar: Buffer) => ({ data: tar, mediaType: 'application/vnd.oci.image.layer.v1.tar' }),
    (tar: Buffer) => ({ data: gzip(tar), mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }),
    (tar: Buffer) => ({ data: tar, mediaType: 'application/vnd.docker.image.rootfs.diff.tar' }),
    (tar: Buffer) => ({ data: zstd(tar), mediaType: 'application/vnd.docker.image.rootfs.diff.tar.zstd' }),
  ];
  const layers = await Promise.all(encodings.map((_, i) => files(i + 1)));
  const image = buildImage(layers, undefined, (tar, i) => encodings[i]!(tar));
  const { store, name } = throughRegistry(t, image, 'test/zstd');
  const out = tempDir('out');
  t.teardown(out.remove);
  await unpack({ store: await Store.open(store), image: name }, `${out.dir}/rootfs`);
  for (const n of [1, 2, 3, 4, 5]) t.is(readFileSync(`${out.dir}/rootfs/layer${n}`, 'utf8'), `content ${n}`.repeat(1000));
});

test("GNU long names and long link targets (a GNU-format tar from Python's tarfile)", async (t) => {
  const script = [
    'import io, sys, tarfile',
    'out = io.BytesIO()',
    'with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:',
    '    info = tarfile.TarInfo("gnu/" + "g" * 150); data = b"a GNU long name"; info.size = len(data); tar.addfile(info, io.BytesIO(data))',
    '    info = tarfile.TarInfo("gnu/long-target"); info.type = tarfile.SYMTYPE; info.linkname = "/" + "t" * 130; tar.addfile(info)',
    '    info = tarfile.TarInfo("gnu/" + "h" * 120); info.type = tarfile.LNKTYPE; info.linkname = "gnu/" + "g" * 150; tar.addfile(info)',
    'sys.stdout.buffer.write(out.getvalue())',
  ].join('\n');
  const tar = spawnSync('python3', ['-c', script], { maxBuffer: 1 << 20 }).stdout;
  t.true(tar.includes('././@LongLink'), 'the archive uses GNU long-name records');
  const { store, name } = throughRegistry(t, buildImage([tar]), 'test/gnu');
  const out = tempDir('out');
  t.teardown(out.remove);
  await unpack({ store: await Store.open(store), image: name }, `${out.dir}/rootfs`);
  const tree = snapshot(`${out.dir}/rootfs`);
  t.is(readFileSync(`${out.dir}/rootfs/gnu/${'g'.repeat(150)}`, 'utf8'), 'a GNU long name');
  t.is(tree['gnu/long-target']!.link, `/${'t'.repeat(130)}`);
  t.is(tree[`gnu/${'h'.repeat(120)}`]!.hardlinkGroup, `gnu/${'g'.repeat(150)}`);
});

test('a symlink is replaced, never followed, by a later entry of another type', async (t) => {
  const outside = tempDir('outside');
  t.teardown(outside.remove);
  const before = statSync(outside.dir).mode;
  const layer = await tarLayer([
    { path: 'dir-link', type: 'symlink', linkname: outside.dir },
    { path: 'dir-link', type: 'directory', mode: 0o777, uid: 4242 },
  ]);
  const out = tempDir('out');
  t.teardown(out.remove);
  await unpack({ layers: [{ stream: [layer] as unknown as AsyncIterable<Uint8Array> }] }, `${out.dir}/rootfs`);
  t.true(lstatSync(`${out.dir}/rootfs/dir-link`).isDirectory());
  t.is(lstatSync(`${out.dir}/rootfs/dir-link`).uid, 4242);
  t.is(statSync(outside.dir).mode, before, 'the directory the symlink pointed at is untouched');
  t.not(statSync(outside.dir).uid, 4242);
});

/** A file of `size` bytes holding `data` at each offset and holes elsewhere. */
function sparseFile(file: string, size: number, data: ReadonlyArray<[offset: number, bytes: Buffer]>): void {
  const fd = openSync(file, 'w');
  for (const [offset, bytes] of data) writeSync(fd, bytes, 0, bytes.length, offset);
  ftruncateSync(fd, size);
  closeSync(fd);
}

test('sparse files as GNU tar writes them (PAX 0.0, 0.1 and 1.0, and old GNU) unpack as umoci and GNU tar unpack them, holes kept as holes', async (t) => {
  const src = tempDir('sparse-src');
  t.teardown(src.remove);
  const MiB = 1 << 20;
  const formats = {
    'pax-0.0': ['--format=posix', '--sparse-version=0.0'],
    'pax-0.1': ['--format=posix', '--sparse-version=0.1'],
    'pax-1.0': ['--format=posix', '--sparse-version=1.0'],
    gnu: ['--format=gnu'],
  };
  const layers: Buffer[] = [];
  for (const [format, options] of Object.entries(formats)) {
    const dir = path.join(src.dir, format);
    mkdirSync(dir);
    sparseFile(`${dir}/three-pieces`, 4 * MiB, [
      [0, Buffer.alloc(4096, 'a')],
      [MiB, Buffer.alloc(8192, 'b')],
      [3 * MiB + 100, Buffer.from('c'.repeat(100))],
    ]);
    // 60 pieces: old GNU needs extension blocks for the map, PAX 1.0 a map of several blocks.
    sparseFile(
      `${dir}/many-pieces`,
      4 * MiB,
      Array.from({ length: 60 }, (_, i): [number, Buffer] => [i * 65536, Buffer.alloc(4096, 0x41 + (i % 26))]),
    );
    sparseFile(`${dir}/only-a-hole`, MiB, []);
    sparseFile(`${dir}/data-at-the-end`, 2 * MiB, [[2 * MiB - 10, Buffer.from('0123456789')]]);
    sparseFile(`${dir}/plain-after`, 11, [[0, Buffer.from('not sparse\n')]]);
    const tar = spawnSync('tar', ['--sparse', ...options, '-cf', '-', '-C', src.dir, format], { maxBuffer: 1 << 28 });
    t.is(tar.status, 0, String(tar.stderr));
    t.true(tar.stdout.length < MiB, `${format}: the archive holds the data, not the holes`);
    layers.push(tar.stdout);
  }
  const [pax00, pax01, pax10, gnu] = layers as [Buffer, Buffer, Buffer, Buffer];
  t.true(pax00.includes('GNU.sparse.offset='), 'PAX 0.0');
  t.true(pax01.includes('GNU.sparse.map='), 'PAX 0.1');
  t.true(pax10.includes('GNU.sparse.major=1'), 'PAX 1.0');

  // The PAX formats, against umoci (Go's archive/tar).
  const { store, name } = throughRegistry(t, buildImage([pax00, pax01, pax10]), 'test/sparse');
  const ours = tempDir('ours');
  const theirs = tempDir('umoci');
  t.teardown(ours.remove);
  t.teardown(theirs.remove);
  await unpack({ store: await Store.open(store), image: name }, `${ours.dir}/rootfs`);
  const umoci = spawnSync('umoci', ['unpack', '--image', `${store}:${name}`, `${theirs.dir}/bundle`], { encoding: 'utf8' });
  t.is(umoci.status, 0, umoci.stderr);
  t.deepEqual(treeDiff(snapshot(`${ours.dir}/rootfs`), snapshot(`${theirs.dir}/bundle/rootfs`)), []);
  // Old GNU ('S' entries), which umoci 0.4.7 refuses ("unknown typeflag"), against GNU tar itself.
  await unpack({ layers: [{ stream: [gnu] as unknown as AsyncIterable<Uint8Array> }] }, `${ours.dir}/gnu`);
  mkdirSync(`${theirs.dir}/gnu`);
  const extracted = spawnSync('tar', ['-x', '-C', `${theirs.dir}/gnu`], { input: gnu });
  t.is(extracted.status, 0, String(extracted.stderr));
  t.deepEqual(treeDiff(snapshot(`${ours.dir}/gnu`), snapshot(`${theirs.dir}/gnu`)), []);
  t.deepEqual(
    treeDiff(snapshot(`${ours.dir}/gnu/gnu`, { mtimes: false }), snapshot(`${ours.dir}/rootfs/pax-1.0`, { mtimes: false })),
    [],
    'every format gives the same files',
  );

  for (const dir of [
    ...Object.keys(formats)
      .filter((f) => f !== 'gnu')
      .map((f) => `rootfs/${f}`),
    'gnu/gnu',
  ]) {
    for (const file of ['three-pieces', 'many-pieces', 'only-a-hole', 'data-at-the-end']) {
      const info = statSync(`${ours.dir}/${dir}/${file}`);
      t.true(info.blocks * 512 < info.size / 2, `${dir}/${file}: ${info.blocks * 512} bytes on disk for ${info.size}`);
    }
  }
});

test("names and link targets that are not UTF-8 stay byte-exact (GNU and PAX archives from Python's tarfile), as umoci unpacks them", async (t) => {
  // Python writes names given as bytes (surrogate-escaped) byte for byte, in GNU long-name records and PAX path records too.
  const script = [
    'import io, os, sys, tarfile',
    'def layer(format, entries):',
    '    out = io.BytesIO()',
    '    with tarfile.open(fileobj=out, mode="w", format=format, encoding="utf-8", errors="surrogateescape") as tar:',
    '        for name, kind, value in entries:',
    '            info = tarfile.TarInfo(os.fsdecode(name)); info.mtime = 1700000000',
    '            if kind == "dir": info.type = tarfile.DIRTYPE; info.mode = 0o755; tar.addfile(info)',
    '            elif kind == "file": info.size = len(value); tar.addfile(info, io.BytesIO(value))',
    '            else: info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE; info.linkname = os.fsdecode(value); tar.addfile(info)',
    '    return out.getvalue()',
    'one = layer(tarfile.GNU_FORMAT, [',
    '    (b"d\\xff/", "dir", None),',
    '    (b"d\\xff/caf\\xe9", "file", b"e acute"),',
    '    (b"d\\xff/caf\\xe8", "file", b"e grave"),',
    '    (b"d\\xff/gone\\xe7", "file", b"whited out by layer 2"),',
    '    (b"d\\xff/link\\xfe", "symlink", b"caf\\xe9"),',
    '    (b"d\\xff/hard\\xe9", "hardlink", b"d\\xff/caf\\xe9"),',
    '    (b"long/" + b"\\xe9" * 120, "file", b"a GNU long name"),',
    '    (b"long-target", "symlink", b"/" + b"\\xfe" * 120),',
    '    (b"implied\\xff/old", "file", b"hidden by layer 2"),',
    '])',
    'two = layer(tarfile.PAX_FORMAT, [',
    '    (b"d\\xff/.wh.gone\\xe7", "file", b""),',
    '    (b"pax/" + b"\\xe0" * 110 + b"/f", "file", b"a PAX path"),',
    '    (b"implied\\xff/.wh..wh..opq", "file", b""),',
    '    (b"implied\\xff/new\\xff", "file", b"layer 2"),',
    '])',
    'sys.stdout.buffer.write(len(one).to_bytes(8, "big") + one + two)',
  ].join('\n');
  const out = spawnSync('python3', ['-c', script], { maxBuffer: 1 << 20 });
  t.is(out.status, 0, String(out.stderr));
  const split = Number(out.stdout.readBigUInt64BE(0)) + 8;
  const layers = [out.stdout.subarray(8, split), out.stdout.subarray(split)];
  t.true(layers[0]!.includes(Buffer.from('d\xff/caf\xe9', 'latin1')), 'layer 1 holds the raw bytes');
  t.true(layers[1]!.includes('hdrcharset=BINARY'), 'layer 2 has PAX path records of raw bytes');
  const { store, name } = throughRegistry(t, buildImage(layers), 'test/non-utf8');
  const ours = tempDir('ours');
  const theirs = tempDir('umoci');
  t.teardown(ours.remove);
  t.teardown(theirs.remove);
  await unpack({ store: await Store.open(store), image: name }, `${ours.dir}/rootfs`);
  const umoci = spawnSync('umoci', ['unpack', '--image', `${store}:${name}`, `${theirs.dir}/bundle`], { encoding: 'utf8' });
  t.is(umoci.status, 0, umoci.stderr);
  const tree = snapshot(`${ours.dir}/rootfs`);
  t.deepEqual(treeDiff(tree, snapshot(`${theirs.dir}/bundle/rootfs`)), []);
  const bytes = (rel: string) => Buffer.concat([Buffer.from(`${ours.dir}/rootfs/`), Buffer.from(rel, 'latin1')]);
  t.is(readFileSync(bytes('d\xff/caf\xe9'), 'utf8'), 'e acute');
  t.is(readFileSync(bytes('d\xff/caf\xe8'), 'utf8'), 'e grave', 'two names that decode alike are two files');
  t.is(tree['d\\xff/link\\xfe']!.link, 'caf\\xe9');
  t.is(tree['d\\xff/hard\\xe9']!.hardlinkGroup, 'd\\xff/caf\\xe9');
  t.false('d\\xff/gone\\xe7' in tree, 'the whiteout named the file by its bytes');
  t.deepEqual(
    Object.keys(tree)
      .filter((key) => key.startsWith('implied'))
      .sort(),
    ['implied\\xff', 'implied\\xff/new\\xff'],
  );
});
