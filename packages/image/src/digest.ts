/**
 * Content digests (image-spec descriptor.md): `algorithm:encoded`, sha256 and sha512.
 * Content is hashed as it streams; nothing is held whole in memory.
 *
 * Hashing goes through the native addon when that is loaded already (the same OpenSSL, through
 * Node), else through node:crypto, loaded when first needed: its JavaScript costs a process
 * ~7 ms to load, which a pull (its blobs and documents) or an `oci unpack --overlay` (chain IDs)
 * need not pay.
 */
import type { NativeHash } from '@oci/native';
import { ImageError } from './errors.js';
import { loadedAddon } from './native.js';

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
  return `${algorithm}:${createHash(algorithm).update(data).digest()}`;
}

/** Throws EDIGEST unless `data` (read whole) has the expected size (when given) and digest; returns the digest. */
export function checkContent(data: Uint8Array, expected: { digest: string; size?: number }, what = 'content'): string {
  if (expected.size !== undefined && expected.size !== data.length) throw sizeMismatch(what, expected, data.length);
  const actual = digestOf(data, parseDigest(expected.digest).algorithm);
  if (actual !== expected.digest) throw digestMismatch(what, expected, actual);
  return actual;
}

/** The addon's hash, or node:crypto's in the same shape (its digest in hex). */
function createHash(algorithm: DigestAlgorithm): NativeHash {
  const addon = loadedAddon();
  if (addon) return addon.createHash(algorithm);
  const hash = process.getBuiltinModule('node:crypto').createHash(algorithm);
  return {
    update(data) {
      hash.update(data);
      return this;
    },
    digest: () => hash.digest('hex'),
  };
}
const sizeMismatch = (what: string, expected: { digest: string; size?: number }, size: number) =>
  new ImageError('EDIGEST', `${what} ${expected.digest}: size ${size}, expected ${expected.size}`);
const digestMismatch = (what: string, expected: { digest: string }, actual: string) =>
  new ImageError('EDIGEST', `${what}: digest ${actual}, expected ${expected.digest}`);

/** Hashes and counts bytes as they pass; `check` compares with what the descriptor promised. */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  #hash: NativeHash;
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
    return `${this.algorithm}:${this.#hash.digest()}`;
  }

  /** Throws EDIGEST unless the content seen has the expected size (when given) and digest. */
  check(expected: { digest: string; size?: number }, what = 'content'): string {
    if (expected.size !== undefined && expected.size !== this.#size) throw sizeMismatch(what, expected, this.#size);
    const actual = this.digest();
    if (actual !== expected.digest) throw digestMismatch(what, expected, actual);
    return actual;
  }
}
