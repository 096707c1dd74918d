/**
 * What the two inflaters share (gunzip.ts: ISA-L in a thread of the native addon; inflate.ts:
 * Node's zlib or zstd-napi in a worker), and decompress.ts, which picks one: their options and
 * how they report data that does not inflate.
 */
import type { DigestAlgorithm } from '../digest.js';
import { ImageError } from '../errors.js';
import type { Compression } from '../media-types.js';

export interface InflateOptions {
  /** The inflater returns the digest of the inflated bytes (a layer's diff_id) with this algorithm. */
  algorithm?: DigestAlgorithm;
  /**
   * Nothing else holds the source's chunks (each owns its memory, as fs streams' do): they move
   * to the inflating thread instead of being copied there.
   */
  ownedChunks?: boolean;
}

export function corrupt(compression: Compression, why: string): ImageError {
  return new ImageError('ELAYER', `corrupt ${compression} data (${why})`);
}
