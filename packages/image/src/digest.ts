/**
 * Content digests (image-spec descriptor.md): `algorithm:encoded`, sha256 and sha512.
 * Content is hashed as it streams; nothing is held whole in memory.
 */
import { createHash, type Hash } from 'node:crypto';
import type { NativeAddon, NativeHash } from '@oci/native';
import { ImageError } from './errors.js';

const ENCODED_LENGTH = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof ENCODED_LENGTH;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  encoded: string;
}

export function parseDigest(digest: string): ParsedDigest {
  const match = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(digest);
  const algorithm = match?.[1] as DigestAlgorithm | undefined;
  if (!match || !algorithm || !Object.hasOwn(ENCODED_LENGTH, algorithm)) {
    throw new ImageError('EDIGEST', `malformed or unsupported digest '${digest}'`);
  }
  const encoded = match[2]!;
  if (encoded.length !== ENCODED_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(encoded)) {
    throw new ImageError('EDIGEST', `malformed ${algorithm} digest '${digest}'`);
  }
  return { algorithm, encoded };
}

export function isDigest(value: string): boolean {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/**
 * Hashes and counts bytes as they pass; `check` compares with what the descriptor promised.
 * Given the native addon, `updateInBackground` hashes in libuv's thread pool.
 */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  #hash: Hash | NativeHash;
  #size = 0;

  constructor(algorithm: DigestAlgorithm = 'sha256', addon?: Pick<NativeAddon, 'Hash'> | null) {
    this.algorithm = algorithm;
    this.#hash = addon ? new addon.Hash(algorithm) : createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    const hash = this.#hash;
    if ('updateSync' in hash) hash.updateSync(chunk);
    else hash.update(chunk);
    this.#size += chunk.length;
  }

  /**
   * Adds the chunks off the main thread when the addon was given (they must not change until
   * this resolves, and no other update may run meanwhile); here otherwise.
   */
  async updateInBackground(chunks: readonly Uint8Array[]): Promise<void> {
    const hash = this.#hash;
    if (!('updateSync' in hash)) {
      for (const chunk of chunks) this.update(chunk);
      return;
    }
    await new Promise<void>((resolve, reject) => hash.update(chunks, (error) => (error ? reject(error) : resolve())));
    for (const chunk of chunks) this.#size += chunk.length;
  }

  get size(): number {
    return this.#size;
  }

  /** The digest of everything seen; call once, at the end. */
  digest(): string {
    const hash = this.#hash;
    return `${this.algorithm}:${'updateSync' in hash ? hash.digest() : hash.digest('hex')}`;
  }

  /** Throws EDIGEST unless the content seen has the expected size (when given) and digest. */
  check(expected: { digest: string; size?: number }, what = 'content'): string {
    if (expected.size !== undefined && expected.size !== this.#size) {
      throw new ImageError('EDIGEST', `${what} ${expected.digest}: size ${this.#size}, expected ${expected.size}`);
    }
    const actual = this.digest();
    if (actual !== expected.digest) throw new ImageError('EDIGEST', `${what}: digest ${actual}, expected ${expected.digest}`);
    return actual;
  }
}
