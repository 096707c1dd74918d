/**
 * What `copy` moves images between (copy-image.ts): a source of content by descriptor, and a
 * destination that takes blobs and manifests and makes them visible only when told to commit.
 * The transports (skopeo's names): a registry (`docker://`), an OCI layout (the content store,
 * `oci:DIR`), and the archives `docker save` and `oci-archive` write.
 */
import type { Readable } from 'node:stream';
import type { Descriptor } from '@oci/specs';

/** A manifest or an index: its descriptor, and its bytes exactly as stored (their digest is its identity). */
export interface Manifest {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** Where an image's content comes from, by descriptor. */
export interface ContentSource {
  /** A manifest or index, checked against its descriptor; ENOTFOUND when the source lacks it. */
  manifest(descriptor: Descriptor): Promise<Buffer>;
  /** A blob's bytes, as stored; the destination checks them against the descriptor. */
  blob(descriptor: Descriptor): Promise<Readable>;
}

export interface ImageDestination {
  /** Blobs written at once: 1 where they go one after another into one stream (an archive). */
  readonly concurrency: number;
  /** False where an index cannot be kept (a docker-archive holds one image per platform). */
  readonly keepsIndexes: boolean;
  /** False where Docker schema 2 manifests become OCI ones (convert.ts): layouts that skopeo and podman read. */
  readonly keepsDockerManifests: boolean;
  hasBlob(descriptor: Descriptor): Promise<boolean>;
  /**
   * Writes the blob `open` gives, checked against its descriptor. Resolves 'mounted' when the
   * destination got it without its bytes (a registry's cross-repository mount): `open` is then
   * never called.
   */
  putBlob(descriptor: Descriptor, open: () => Promise<Readable>): Promise<'mounted' | void>;
  /** Writes a manifest or index whose blobs (or children) it has. */
  putManifest(manifest: Manifest): Promise<void>;
  /** Names an image put before: what a name is depends on the destination (a tag, a reference, a ref.name). */
  tag(image: Manifest, names: readonly string[]): Promise<void>;
  /** Makes everything put visible, the names last. */
  commit(): Promise<void>;
  /** After a failure: throws away what was put and not committed. */
  abort(): Promise<void>;
}
