/**
 * A registry (`docker://`) as a copy's source or destination: manifests fetched and checked as
 * pull checks them, blobs streamed from a GET straight into the destination (no resume: a copy
 * that loses its connection fails, and pull is the command that resumes), and uploads as push
 * makes them, mounted from the source repository when both are on one registry.
 */
import { type Readable, Transform } from 'node:stream';
import type { Descriptor } from '@oci/specs';
import type { Reference } from '../reference.js';
import type { RegistryClient } from '../registry/client.js';
import { fetchManifest } from '../registry/manifests.js';
import { hasBlob, putManifest, sendBlob } from '../registry/uploads.js';
import type { ContentSource, ImageDestination, Manifest } from './types.js';

export class RegistrySource implements ContentSource {
  constructor(
    private readonly client: RegistryClient,
    private readonly ref: Reference,
  ) {}

  /** The manifest or index the reference names. */
  async resolve(): Promise<Manifest> {
    const { descriptor, bytes } = await fetchManifest(this.client, this.ref.repository, this.ref.version);
    return { descriptor, bytes };
  }

  async manifest(descriptor: Descriptor): Promise<Buffer> {
    return (await fetchManifest(this.client, this.ref.repository, descriptor.digest, descriptor)).bytes;
  }

  async blob(descriptor: Descriptor): Promise<Readable> {
    const { repository } = this.ref;
    const deadline = this.client.http.deadline('data');
    const response = await this.client.request({ method: 'GET', repository, path: `blobs/${descriptor.digest}`, deadline });
    if (response.status !== 200) throw await this.client.error(response, `blob ${descriptor.digest}`, repository);
    // Each chunk is progress: the download may take as long as it needs while bytes come.
    const alive = new Transform({
      transform(chunk: Buffer, _encoding, next) {
        deadline.restart();
        next(null, chunk);
      },
    });
    response.body.once('error', (error) => alive.destroy(error));
    alive.once('close', () => response.body.destroy());
    return response.body.pipe(alive);
  }
}

/** Into a repository; owns `client`, closed once the copy is committed or aborted. */
export class RegistryDestination implements ImageDestination {
  readonly concurrency = 4;
  readonly keepsIndexes = true;
  readonly keepsDockerManifests = true;

  constructor(
    private readonly client: RegistryClient,
    private readonly ref: Reference,
    /** Repositories of this registry that may hold the blobs (tried for a mount). */
    private readonly mountFrom: readonly string[] = [],
  ) {}

  hasBlob(descriptor: Descriptor): Promise<boolean> {
    return hasBlob(this.client, this.ref.repository, descriptor);
  }

  async putBlob(descriptor: Descriptor, open: () => Promise<Readable>): Promise<'mounted' | void> {
    // A whole blob in one request: a stream from another registry cannot be read again in ranges.
    const how = await sendBlob(this.client, open, this.ref.repository, descriptor, { mountFrom: this.mountFrom });
    if (how === 'mounted') return how;
  }

  async putManifest({ descriptor, bytes }: Manifest): Promise<void> {
    await putManifest(this.client, this.ref.repository, descriptor.digest, descriptor, bytes);
  }

  /** Each name is a tag of the destination repository. */
  async tag({ descriptor, bytes }: Manifest, tags: readonly string[]): Promise<void> {
    for (const tag of tags) await putManifest(this.client, this.ref.repository, tag, descriptor, bytes);
  }

  // The registry has made each blob and manifest visible as it took it.
  async commit(): Promise<void> {
    await this.client.close();
  }

  async abort(): Promise<void> {
    await this.client.close();
  }
}
