/**
 * A layer's uncompressed bytes. The media type says how it is compressed; the first bytes must
 * agree (a gzip stream labelled zstd, or a tar labelled gzip, is refused, not guessed at).
 * gzip: ISA-L in a thread of the native addon when it has it (gunzip.ts), else Node's zlib;
 * zstd: zstd-napi, a Node-API binding of libzstd, chosen by measurement (0.5 s for 210 MB
 * against 2.3 s for fzstd, pure JS, the other maintained choice); those two in a worker
 * (inflate.ts). All off the main thread.
 */
import type { NativeAddon } from '@oci/native';
import { Digester } from '../digest.js';
import { ImageError } from '../errors.js';
import type { Compression } from '../media-types.js';
import { gunzipInThread } from './gunzip.js';
import { inflateInWorker } from './inflate.js';
import type { InflateOptions } from './inflater.js';

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** What the first bytes say the data is. */
export function sniffCompression(head: Uint8Array): Compression {
  const starts = (magic: number[]) => magic.every((byte, i) => head[i] === byte);
  return starts(GZIP_MAGIC) ? 'gzip' : starts(ZSTD_MAGIC) ? 'zstd' : 'none';
}

export interface DecompressOptions extends InflateOptions {
  /** The native addon: gzip inflates with its ISA-L inflater when it has one. */
  addon?: Pick<NativeAddon, 'createGunzip'> | null;
}

/**
 * The uncompressed stream of `source`. `expected` 'auto' takes what the magic bytes say;
 * otherwise they must agree with it. The digest of the uncompressed bytes is computed off the
 * main thread when it inflates. A chunk yielded may be valid only until the next is asked for.
 */
export async function* decompress(
  source: AsyncIterable<Uint8Array>,
  expected: Compression | 'auto',
  options: DecompressOptions = {},
): AsyncGenerator<Buffer, string | undefined> {
  const { algorithm } = options;
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
  const gunzip = compression === 'gzip' ? options.addon?.createGunzip : undefined;
  if (gunzip) return yield* gunzipInThread(all(), gunzip, options);
  if (compression !== 'none') return yield* inflateInWorker(all(), compression, options);
  const digester = algorithm ? new Digester(algorithm) : undefined;
  for await (const chunk of all()) {
    digester?.update(chunk);
    yield chunk;
  }
  return digester?.digest();
}

function describe(compression: Compression): string {
  return compression === 'none' ? 'an uncompressed tar' : compression;
}
