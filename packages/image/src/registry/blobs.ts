/**
 * Blob downloads into the store: streamed, hashed as they land (never held in memory), resumed
 * with a Range request when the connection breaks off, and stored only whole and matching their
 * descriptor. A download is one step (deadline.ts): it fails when no byte came for the timeout,
 * whatever its resumes.
 */
import type { Descriptor } from '@oci/specs';
import { ImageError } from '../errors.js';
import type { ProgressListener } from '../progress.js';
import type { Ingest, Ingester } from '../store/ingest.js';
import type { RegistryClient } from './client.js';
import type { Deadline } from './deadline.js';
import { isTransient, networkError } from './network-errors.js';

/** How many times a broken-off download goes on before giving up. */
const RESUMES = 5;

/**
 * Downloads the blob into what `ingester` gives it to write (the store's ingest area, inside
 * its lease) and verifies it; the caller publishes it.
 */
export async function downloadBlob(
  client: RegistryClient,
  repository: string,
  descriptor: Descriptor,
  ingester: Ingester,
  onProgress?: ProgressListener,
  /** Told where the bytes land before the first one does (to read them while they download). */
  onIngest?: (ingest: Ingest) => void,
): Promise<Ingest> {
  const deadline = client.http.deadline('data');
  // The first request leaves while the bytes' temp file is made: one waits on the registry, the
  // other on the disk.
  const first = requestBlob(client, repository, descriptor, deadline, 0);
  first.catch(() => undefined);
  let ingest: Ingest;
  try {
    ingest = await ingester.ingest(descriptor);
  } catch (error) {
    void first.then(
      (response) => response.body.dump(),
      () => undefined,
    );
    throw error;
  }
  onIngest?.(ingest);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = attempt === 0 ? first : requestBlob(client, repository, descriptor, deadline, ingest.written);
        await fetchInto(ingest, answer, client, repository, descriptor, deadline, onProgress);
        break;
      } catch (error) {
        await ingest.settled();
        if (!isTransient(error)) throw error;
        if (attempt >= RESUMES) throw networkError(error, new URL(`http://${client.registry}`));
        onProgress?.({ type: 'resume', digest: descriptor.digest, offset: ingest.written });
        await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
      }
    }
    await ingest.verify();
    return ingest;
  } catch (error) {
    await ingest.abort();
    throw error;
  }
}

/** The blob's GET: from the start, or from `offset` with Range. */
function requestBlob(client: RegistryClient, repository: string, descriptor: Descriptor, deadline: Deadline, offset: number) {
  return client.request({
    method: 'GET',
    repository,
    path: `blobs/${descriptor.digest}`,
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    deadline,
    download: true,
  });
}

/** One request's answer (asked from `ingest.written`) into the ingest. */
async function fetchInto(
  ingest: Ingest,
  answer: ReturnType<typeof requestBlob>,
  client: RegistryClient,
  repository: string,
  descriptor: Descriptor,
  deadline: Deadline,
  onProgress?: ProgressListener,
): Promise<void> {
  const offset = ingest.written;
  const what = `blob ${descriptor.digest}`;
  const response = await answer;
  if (response.status === 206 && offset > 0) {
    const start = /^bytes (\d+)-/.exec(String(response.headers['content-range'] ?? ''))?.[1];
    if (Number(start) !== offset) {
      await response.body.dump();
      throw new ImageError('EREGISTRY', `${what}: asked for bytes from ${offset}, got ${response.headers['content-range']}`);
    }
  } else if (response.status === 200) {
    if (offset > 0) await ingest.restart();
  } else {
    throw await client.error(response, what, repository);
  }
  await response.body.consume((chunk) => {
    deadline.restart();
    const done = ingest.written + chunk.length;
    if (done > descriptor.size) throw new ImageError('EDIGEST', `${what}: more than the ${descriptor.size} bytes its descriptor gives`);
    ingest.append(chunk);
    onProgress?.({ type: 'bytes', digest: descriptor.digest, size: descriptor.size, done });
  });
}
