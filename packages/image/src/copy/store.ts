/**
 * An OCI image layout as a copy's source or destination: the content store (images named by
 * their full reference) or any other layout (`oci:DIR[:REF]`, names as given). Into a layout,
 * every blob and manifest is written to the writer's ingest area and checked; none is moved
 * under blobs/ before commit, and the names go into index.json after all of them, so a copy that
 * fails or is aborted leaves the layout as it was.
 */
import { Readable } from 'node:stream';
import { type Descriptor, REF_NAME_ANNOTATION } from '@oci/specs';
import { ImageError } from '../errors.js';
import type { Ingest } from '../store/ingest.js';
import type { Store } from '../store/layout.js';
import type { ContentSource, ImageDestination, Manifest } from './types.js';

export class StoreSource implements ContentSource {
  constructor(private readonly store: Store) {}

  manifest(descriptor: Descriptor): Promise<Buffer> {
    return this.store.readBlob(descriptor);
  }

  async blob(descriptor: Descriptor): Promise<Readable> {
    if (!(await this.store.hasBlob(descriptor.digest, descriptor.size)))
      throw new ImageError('ENOTFOUND', `blob ${descriptor.digest} is missing from ${this.store.dir}`);
    return this.store.openBlob(descriptor.digest);
  }
}

/** The image `input` names in the layout (Store.resolveName), or its only image when no name is given. */
export async function storedImage(store: Store, input: string | undefined): Promise<{ name?: string; top: Manifest }> {
  let descriptor: Descriptor;
  let name: string | undefined;
  if (input === undefined) {
    const { manifests } = await store.readIndex();
    if (manifests.length !== 1) throw new ImageError('ENOTFOUND', `${store.dir} holds ${manifests.length} images: name one (oci:DIR:REF)`);
    descriptor = manifests[0]!;
    name = descriptor.annotations?.[REF_NAME_ANNOTATION];
  } else {
    name = await store.resolveName(input);
    descriptor = await store.resolve(name);
  }
  const { annotations: _, ...plain } = descriptor;
  return { ...(name !== undefined && { name }), top: { descriptor: plain, bytes: await store.readBlob(descriptor) } };
}

export interface StoreDestinationOptions {
  /** The store's `lastPulled()` becomes the images named here (`oci load && oci unpack`). */
  pulled?: Date;
  /**
   * Docker schema 2 manifests become OCI ones (convert.ts), for a layout skopeo and podman read
   * (`oci:DIR`); the content store keeps them as pull does.
   */
  ociOnly?: boolean;
}

/** Into a layout. Only inside `store.lease()`. */
export class StoreDestination implements ImageDestination {
  readonly concurrency = 4;
  readonly keepsIndexes = true;
  readonly keepsDockerManifests: boolean;
  readonly #ingests: Ingest[] = [];
  readonly #written = new Set<string>();
  readonly #names: { name: string | undefined; descriptor: Descriptor }[] = [];

  constructor(
    private readonly store: Store,
    private readonly options: StoreDestinationOptions = {},
  ) {
    this.keepsDockerManifests = !options.ociOnly;
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return this.#written.has(descriptor.digest) || (await this.store.hasBlob(descriptor.digest, descriptor.size));
  }

  async putBlob(descriptor: Descriptor, open: () => Promise<Readable>): Promise<void> {
    const ingest = await this.store.ingest(descriptor);
    this.#ingests.push(ingest);
    await ingest.appendFrom(await open());
    await ingest.verify();
    this.#written.add(descriptor.digest);
  }

  async putManifest({ descriptor, bytes }: Manifest): Promise<void> {
    if (!(await this.hasBlob(descriptor))) await this.putBlob(descriptor, async () => Readable.from([bytes]));
  }

  /** Names are taken as they are: the caller normalises references for the content store. No name: an unnamed entry. */
  async tag({ descriptor }: Manifest, names: readonly string[]): Promise<void> {
    if (names.length === 0) this.#names.push({ name: undefined, descriptor });
    for (const name of names) this.#names.push({ name, descriptor });
  }

  async commit(): Promise<void> {
    for (const ingest of this.#ingests) await ingest.publish();
    for (const { name, descriptor } of this.#names) {
      if (name === undefined) await this.store.addUnnamed(descriptor);
      else await this.store.setRef(name, descriptor, { ...(this.options.pulled && { pulled: this.options.pulled }) });
    }
  }

  async abort(): Promise<void> {
    await Promise.all(this.#ingests.map((ingest) => ingest.abort()));
  }
}
