/**
 * Blob uploads (distribution-spec "pushing blobs"): HEAD to skip what the registry has, a
 * cross-repository mount when one may work, else POST an upload session and send the bytes,
 * in one PUT or in PATCH chunks followed by the closing PUT; and the manifests' PUT. Bytes
 * stream from where the caller reads them (the store, another registry, an archive). An
 * upload is one step (deadline.ts): it fails once the registry kept it waiting for the timeout
 * with no byte sent.
 */
import { pipeline, type Readable, Transform } from 'node:stream';
import type { Descriptor } from '@oci/specs';
import { ImageError } from '../errors.js';
import type { ProgressListener } from '../progress.js';
import { repositoryScope } from './auth.js';
import type { RegistryClient, RegistryResponse } from './client.js';
import type { Deadline } from './deadline.js';

export interface UploadOptions {
  mountFrom: readonly string[];
  chunkSize?: number;
  onProgress?: ProgressListener;
}

/** Bytes `start` to `end` (inclusive) of the blob; a source that cannot seek is asked for the whole blob only. */
export type BlobReader = (range: { start: number; end: number }) => Promise<Readable>;

const PUSH = ['pull', 'push'] as const;

/** True when the registry has the blob in `repository` (a HEAD to the registry itself, never a mirror). */
export async function hasBlob(client: RegistryClient, repository: string, blob: Descriptor, deadline = client.http.deadline()): Promise<boolean> {
  const exists = await client.request({ method: 'HEAD', repository, path: `blobs/${blob.digest}`, actions: PUSH, upstream: true, ok: () => true, deadline });
  await exists.body.dump();
  if (exists.status === 200) return true;
  if (exists.status !== 404) throw await client.error(exists, `blob ${blob.digest}`, repository);
  return false;
}

/** Uploads the blob unless the registry has it, reporting progress as push shows it. */
export async function uploadBlob(
  client: RegistryClient,
  read: BlobReader,
  repository: string,
  blob: Descriptor,
  role: 'config' | 'layer',
  options: UploadOptions,
): Promise<void> {
  const { onProgress } = options;
  const deadline = client.http.deadline('data');
  const present = await hasBlob(client, repository, blob, deadline);
  onProgress?.({ type: 'blob', digest: blob.digest, size: blob.size, role, present });
  if (present) return;
  const how = await sendBlob(client, read, repository, blob, options, deadline);
  onProgress?.({ type: 'blob-done', digest: blob.digest, ...(how === 'mounted' && { mounted: true }) });
}

/** Puts the blob into the registry: mounted from another repository when one of `mountFrom` has it, else its bytes sent. */
export async function sendBlob(
  client: RegistryClient,
  read: BlobReader,
  repository: string,
  blob: Descriptor,
  options: UploadOptions,
  deadline = client.http.deadline('data'),
): Promise<'mounted' | 'uploaded'> {
  const { onProgress } = options;
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
      return 'mounted';
    }
    // 202: the registry could not mount and opened an upload session instead.
    location = await sessionLocation(client, mount, repository, blob);
    break;
  }
  location ??= await sessionLocation(
    client,
    await client.request({ method: 'POST', repository, path: 'blobs/uploads/', actions: PUSH, deadline }),
    repository,
    blob,
  );

  if (options.chunkSize && blob.size > options.chunkSize) {
    for (let offset = 0; offset < blob.size; offset += options.chunkSize) {
      const end = Math.min(offset + options.chunkSize, blob.size) - 1;
      const patch = await client.request({
        method: 'PATCH',
        repository,
        path: location,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - offset + 1), 'content-range': `${offset}-${end}` },
        body: await counted(read, blob, offset, end, deadline, onProgress),
        actions: PUSH,
        deadline,
      });
      location = await sessionLocation(client, patch, repository, blob);
    }
    await closeUpload(client, repository, location, blob, deadline, undefined);
  } else {
    await closeUpload(client, repository, location, blob, deadline, await counted(read, blob, 0, blob.size - 1, deadline, onProgress));
  }
  return 'uploaded';
}

/** PUTs a manifest or index as `version` (a tag, or its digest); the registry must store it under its digest. */
export async function putManifest(client: RegistryClient, repository: string, version: string, descriptor: Descriptor, bytes: Buffer): Promise<void> {
  const response = await client.request({
    method: 'PUT',
    repository,
    path: `manifests/${version}`,
    headers: { 'content-type': descriptor.mediaType },
    body: bytes,
    actions: PUSH,
  });
  if (response.status !== 201 && response.status !== 200) throw await client.error(response, `manifest ${descriptor.digest}`, repository);
  await response.body.dump();
  const stored = response.headers['docker-content-digest'];
  if (typeof stored === 'string' && stored !== descriptor.digest) {
    throw new ImageError('EREGISTRY', `${client.registry} stored manifest ${descriptor.digest} as ${stored}`);
  }
}

/** The PUT that ends an upload, with the last bytes (or all of them) as its body. */
async function closeUpload(
  client: RegistryClient,
  repository: string,
  location: URL,
  blob: Descriptor,
  deadline: Deadline,
  body: Readable | undefined,
): Promise<void> {
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

/** Bytes `start..end` of the blob, counted for progress (and the upload's deadline) as they go. */
async function counted(read: BlobReader, blob: Descriptor, start: number, end: number, deadline: Deadline, onProgress?: ProgressListener): Promise<Readable> {
  const source = await read({ start, end });
  if (blob.size === 0) return source;
  let done = start;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      deadline.restart();
      done += chunk.length;
      onProgress?.({ type: 'bytes', digest: blob.digest, size: blob.size, done });
      next(null, chunk);
    },
  });
  // Either one's end (an error, or the request destroying the counter) ends the other: the blob's
  // file is closed even when the upload is aborted.
  return pipeline(source, counter, () => {});
}
