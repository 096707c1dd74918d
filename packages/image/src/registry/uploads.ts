/**
 * Blob uploads (distribution-spec "pushing blobs"): HEAD to skip what the registry has, a
 * cross-repository mount when one may work, else POST an upload session and send the bytes,
 * in one PUT or in PATCH chunks followed by the closing PUT. Bytes stream from the store. An
 * upload is one step (deadline.ts): it fails once the registry kept it waiting for the timeout
 * with no byte sent.
 */
import { Readable, Transform } from 'node:stream';
import { ImageError } from '../errors.js';
import type { Descriptor } from '../oci-types.js';
import type { ProgressListener } from '../progress.js';
import type { Store } from '../store/layout.js';
import { repositoryScope } from './auth.js';
import type { RegistryClient, RegistryResponse } from './client.js';
import type { Deadline } from './deadline.js';

export interface UploadOptions {
  mountFrom: readonly string[];
  chunkSize?: number;
  onProgress?: ProgressListener;
}

const PUSH = ['pull', 'push'] as const;

export async function uploadBlob(client: RegistryClient, store: Store, repository: string, blob: Descriptor, role: 'config' | 'layer', options: UploadOptions): Promise<void> {
  const { onProgress } = options;
  const deadline = client.http.deadline('data');
  const exists = await client.request({ method: 'HEAD', repository, path: `blobs/${blob.digest}`, actions: PUSH, upstream: true, ok: () => true, deadline });
  await exists.body.dump();
  onProgress?.({ type: 'blob', digest: blob.digest, size: blob.size, role, present: exists.status === 200 });
  if (exists.status === 200) return;
  if (exists.status !== 404) throw await client.error(exists, `blob ${blob.digest}`, repository);

  let location: URL | undefined;
  for (const from of options.mountFrom) {
    const mount = await client.request({
      method: 'POST',
      repository,
      path: `blobs/uploads/?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(from)}`,
      actions: PUSH,
      scopes: [repositoryScope(from, ['pull'])],
      deadline,
    });
    if (mount.status === 201) {
      await mount.body.dump();
      onProgress?.({ type: 'blob-done', digest: blob.digest, mounted: true });
      return;
    }
    // 202: the registry could not mount and opened an upload session instead.
    location = await sessionLocation(client, mount, repository, blob);
    break;
  }
  location ??= await sessionLocation(client, await client.request({ method: 'POST', repository, path: 'blobs/uploads/', actions: PUSH, deadline }), repository, blob);

  if (options.chunkSize && blob.size > options.chunkSize) {
    for (let offset = 0; offset < blob.size; offset += options.chunkSize) {
      const end = Math.min(offset + options.chunkSize, blob.size) - 1;
      const patch = await client.request({
        method: 'PATCH',
        repository,
        path: location,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - offset + 1), 'content-range': `${offset}-${end}` },
        body: await counted(store, blob, offset, end, deadline, onProgress),
        actions: PUSH,
        deadline,
      });
      location = await sessionLocation(client, patch, repository, blob);
    }
    await closeUpload(client, repository, location, blob, deadline, undefined);
  } else {
    await closeUpload(client, repository, location, blob, deadline, await counted(store, blob, 0, blob.size - 1, deadline, onProgress));
  }
  onProgress?.({ type: 'blob-done', digest: blob.digest });
}

/** The PUT that ends an upload, with the last bytes (or all of them) as its body. */
async function closeUpload(client: RegistryClient, repository: string, location: URL, blob: Descriptor, deadline: Deadline, body: Readable | undefined): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', blob.digest);
  const response = await client.request({
    method: 'PUT',
    repository,
    path: url,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(body ? blob.size : 0) },
    ...(body && { body }),
    actions: PUSH,
    deadline,
  });
  if (response.status !== 201) throw await client.error(response, `upload of blob ${blob.digest}`, repository);
  await response.body.dump();
}

/** The upload URL a 202 gives (relative ones resolve against the request). */
async function sessionLocation(client: RegistryClient, response: RegistryResponse, repository: string, blob: Descriptor): Promise<URL> {
  const location = response.headers.location;
  if (response.status !== 202 || typeof location !== 'string') throw await client.error(response, `upload of blob ${blob.digest}`, repository);
  await response.body.dump();
  return new URL(location, response.url);
}

/** Bytes `start..end` of the stored blob, counted for progress (and the upload's deadline) as they go. */
async function counted(store: Store, blob: Descriptor, start: number, end: number, deadline: Deadline, onProgress?: ProgressListener): Promise<Readable> {
  if (!(await store.hasBlob(blob.digest, blob.size))) throw new ImageError('ENOTFOUND', `blob ${blob.digest} is missing from the store`);
  if (blob.size === 0) return Readable.from([]);
  let done = start;
  const source = await store.openBlob(blob.digest, { start, end });
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      deadline.restart();
      done += chunk.length;
      onProgress?.({ type: 'bytes', digest: blob.digest, size: blob.size, done });
      next(null, chunk);
    },
  });
  source.on('error', (error) => counter.destroy(error));
  return source.pipe(counter);
}
