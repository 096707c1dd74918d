/**
 * A layer's uncompressed bytes. The media type says how it is compressed; the first bytes must
 * agree (a gzip stream labelled zstd, or a tar labelled gzip, is refused, not guessed at).
 * gzip: Node's zlib, in the thread pool. zstd: zstd-napi, a Node-API binding of libzstd, chosen
 * by measurement: 0.5 s for 210 MB against 2.3 s for fzstd (pure JS), the other maintained choice.
 */
import { createRequire } from 'node:module';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ImageError } from '../errors.js';
import type { Compression } from '../media-types.js';

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
/** Larger than zlib's 16 KiB default: fewer round trips between the pool and the main thread. */
const CHUNK_SIZE = 256 << 10;

/** What the first bytes say the data is. */
export function sniffCompression(head: Uint8Array): Compression {
  const starts = (magic: number[]) => magic.every((byte, i) => head[i] === byte);
  return starts(GZIP_MAGIC) ? 'gzip' : starts(ZSTD_MAGIC) ? 'zstd' : 'none';
}

/**
 * The uncompressed stream of `source`. `expected` 'auto' takes what the magic bytes say;
 * otherwise they must agree with it.
 */
export async function* decompress(source: AsyncIterable<Uint8Array>, expected: Compression | 'auto'): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLength = 0;
  let done = false;
  while (headLength < ZSTD_MAGIC.length) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength));
    headLength += next.value.byteLength;
  }
  const actual = sniffCompression(Buffer.concat(head));
  const compression = expected === 'auto' ? actual : expected;
  if (actual !== compression) {
    throw new ImageError('ELAYER', `the media type says ${describe(compression)} but the data is ${describe(actual)}`);
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* head;
    if (done) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
  }
  if (compression === 'none') return yield* all();
  const inflater = compression === 'gzip' ? createGunzip({ chunkSize: CHUNK_SIZE }) : zstdDecompressor();
  const output = pipeline(Readable.from(all(), { objectMode: false }), inflater, () => {});
  try {
    for await (const chunk of output) yield chunk as Buffer;
  } catch (error) {
    if (error instanceof ImageError || !(error instanceof Error)) throw error;
    throw new ImageError('ELAYER', `corrupt ${compression} data (${error.message})`, { cause: error });
  }
}

function describe(compression: Compression): string {
  return compression === 'none' ? 'an uncompressed tar' : compression;
}

function zstdDecompressor(): Transform {
  // Loaded on first use: an optional dependency, built from source at install time.
  let zstd: { DecompressStream: new () => Transform };
  try {
    zstd = createRequire(import.meta.url)('zstd-napi');
  } catch (error) {
    throw new ImageError('ELAYER', 'zstd layers need the zstd-napi package, which is not installed or did not build', { cause: error });
  }
  return new zstd.DecompressStream();
}
