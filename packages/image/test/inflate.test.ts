/**
 * The two gzip inflaters (ISA-L in the native addon's thread, Node's zlib in a worker) read the
 * same streams alike: several members one after another, the input cut anywhere, output larger
 * than their buffers, zero padding at the end; both give the inflated bytes' digest, and both
 * refuse a truncated or corrupt stream in the same words.
 */

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { loadAddon } from '@oci/native';
import test from 'ava';
import { decompress } from '../src/layer/decompress.js';

const addon = loadAddon();
const inflaters = [
  ['ISA-L (native addon)', addon],
  ['zlib (worker)', null],
] as const;

/** Compressible but not trivial: 3 MB of counted lines. */
const text = Buffer.from(Array.from({ length: 120_000 }, (_, i) => `line ${i} ${(i * 7919) % 1000}\n`).join(''));

/** `data` in pieces of `size` bytes, or cut at the offsets given. */
async function* pieces(data: Buffer, cut: number | readonly number[]): AsyncGenerator<Uint8Array> {
  const offsets = typeof cut === 'number' ? Array.from({ length: Math.ceil(data.length / cut) }, (_, i) => i * cut) : [0, ...cut];
  for (const [i, at] of offsets.entries()) yield data.subarray(at, offsets[i + 1] ?? data.length);
}

async function inflate(data: Buffer, native: typeof addon, cut: number | readonly number[] = 4093): Promise<{ bytes: Buffer; digest: string | undefined }> {
  const chunks: Buffer[] = [];
  const stream = decompress(pieces(data, cut), 'gzip', { algorithm: 'sha256', addon: native });
  for (let next = await stream.next(); ; next = await stream.next()) {
    if (next.done) return { bytes: Buffer.concat(chunks), digest: next.value };
    chunks.push(Buffer.from(next.value)); // a copy: a chunk is valid until the next is asked for
  }
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const second = Buffer.from('and a second member\n');

test('the native addon has the ISA-L inflater (scripts/setup installs libisal-dev)', (t) => {
  const gunzip = addon?.createGunzip?.('', () => {});
  t.truthy(gunzip);
  gunzip?.close();
});

test('ISA-L: zeros between members are padding, wherever the input is cut', async (t) => {
  const first = gzipSync(text);
  const data = Buffer.concat([first, Buffer.alloc(7), gzipSync(second)]);
  const expected = Buffer.concat([text, second]);
  for (const cut of [4093, [first.length], [first.length + 3], [first.length + 7]]) {
    t.is((await inflate(data, addon, cut)).digest, sha256(expected), `cut at ${String(cut)}`);
  }
});

for (const [name, native] of inflaters) {
  test(`${name}: members one after another, cut anywhere, zero padding at the end`, async (t) => {
    const first = gzipSync(text);
    const expected = Buffer.concat([text, second]);
    const data = Buffer.concat([first, gzipSync(second)]);
    for (const cut of [4093, 1 << 20, [first.length], [first.length - 3, first.length + 2]]) {
      const { bytes, digest } = await inflate(data, native, cut);
      t.true(bytes.equals(expected), `cut at ${String(cut)}`);
      t.is(digest, sha256(expected));
    }
    const padded = await inflate(Buffer.concat([data, Buffer.alloc(5)]), native, 1 << 24);
    t.is(padded.digest, sha256(expected));
  });

  test(`${name}: a truncated stream ends in 'unexpected end of file'`, async (t) => {
    const gz = gzipSync(text);
    await t.throwsAsync(inflate(gz.subarray(0, gz.length - 8), native), { message: 'corrupt gzip data (unexpected end of file)' });
    await t.throwsAsync(inflate(gz.subarray(0, 5000), native), { message: 'corrupt gzip data (unexpected end of file)' });
  });

  test(`${name}: a corrupt stream is refused`, async (t) => {
    const gz = gzipSync(text);
    gz[gz.length >> 1]! ^= 0x55;
    await t.throwsAsync(inflate(gz, native), { message: /^corrupt gzip data \(.+\)$/ });
    const badTrailer = gzipSync(text);
    badTrailer[badTrailer.length - 6]! ^= 1; // the CRC
    await t.throwsAsync(inflate(badTrailer, native), { message: /^corrupt gzip data \(.+\)$/ });
  });
}

for (const [name, native] of inflaters) {
  test(`${name}: more output than the buffers it fills at a time, each chunk read before the next is asked for`, async (t) => {
    const big = Buffer.concat(Array.from({ length: 14 }, (_, i) => Buffer.concat([text, Buffer.from(`part ${i}\n`)]))); // 42 MB
    const { bytes, digest } = await inflate(gzipSync(big, { level: 1 }), native, 1 << 20);
    t.true(bytes.equals(big));
    t.is(digest, sha256(big));
  });

  test(`${name}: a reader that stops early stops the inflater`, async (t) => {
    const stream = decompress(pieces(gzipSync(Buffer.concat([text, text, text, text, text, text])), 1 << 16), 'gzip', { algorithm: 'sha256', addon: native });
    t.false((await stream.next()).done);
    t.deepEqual(await stream.return(undefined), { done: true, value: undefined });
  });
}
