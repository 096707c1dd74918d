/**
 * Content digests (image-spec descriptor.md): `algorithm:encoded`, sha256 and sha512.
 * Content is hashed as it streams; nothing is held whole in memory.
 */
import { createHash, type Hash } from 'node:crypto';
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

/** Where an OCI image layout keeps the blob: `blobs/ALG/HEX` (image-spec image-layout.md). */
export function blobPath(digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return `blobs/${algorithm}/${encoded}`;
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

/** Hashes and counts bytes as they pass; `check` compares with what the descriptor promised. */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  #hash: Hash;
  #size = 0;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
  }

  get size(): number {
    return this.#size;
  }

  /** The digest of everything seen; call once, at the end. */
  digest(): string {
    return `${this.algorithm}:${this.#hash.digest('hex')}`;
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
