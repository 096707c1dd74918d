/**
 * `pull`: a reference from a registry into the store. The manifest (the platform's, from an
 * index) is resolved first, and refused when it is not an image that unpack can apply (an
 * artifact, a layer of a media type it does not know), so that the store never holds blobs of
 * an image it cannot use; config and layers download concurrently, each checked against its
 * digest before it lands; the manifest is stored last and named by the full normalised
 * reference (`docker.io/library/busybox:latest`). Blobs the store has are not fetched again, so
 * pulling a present image costs one manifest request. Non-distributable layers come from the
 * registry like others (their `urls` are not followed).
 */
import { readFile } from 'node:fs/promises';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from '@oci/specs';
import { throwIfAborted, unlessAborted } from './abort.js';
import { forEachConcurrent } from './concurrent.js';
import { parseConfig } from './documents.js';
import { ImageError, storeError } from './errors.js';
import { isImageConfig, isIndex, isManifest, layerCompression } from './media-types.js';
import { formatPlatform, hostPlatform, normalizePlatform, platformMatches, selectPlatform } from './platform.js';
import type { ProgressListener } from './progress.js';
import { parseReference, type Reference } from './reference.js';
import { downloadBlob } from './registry/blobs.js';
import { RegistryClient, type RegistryOptions } from './registry/client.js';
import { type FetchedManifest, fetchManifest } from './registry/manifests.js';
import type { Ingest } from './store/ingest.js';
import type { Store } from './store/layout.js';

/** Configs are read whole; real ones are a few KB. */
const MAX_CONFIG_SIZE = 8 << 20;

export interface PullOptions extends RegistryOptions {
  /** The platform to take from a multi-platform index; default this host's. */
  platform?: Platform;
  /** Downloads at once. Default 4. */
  concurrency?: number;
  onProgress?: ProgressListener;
  /**
   * Also prepare the image's layer snapshots (snapshot/prepare.ts), each layer applied while it
   * downloads: its bytes go to the blob's file and, from there, through the decompressor into
   * its snapshot, while later layers download. A snapshot is committed only once its blob's
   * digest and its diff_id both matched.
   */
  snapshots?: boolean;
}

export interface PullResult {
  /** The name in the store: the full normalised reference. */
  name: string;
  /** The stored manifest's descriptor (with its platform). */
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
}

export async function pull(store: Store, reference: string | Reference, options: PullOptions = {}): Promise<PullResult> {
  throwIfAborted(options.signal);
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const client = new RegistryClient(ref.registry, options, ref.repository);
  // The manifest is asked for while the lease is taken (store locks and files): one need not
  // wait for the other. A failure is thrown where it is awaited.
  const top = fetchManifest(client, ref.repository, ref.version);
  top.catch(() => undefined);
  try {
    return await store.lease(async () => pullInto(store, client, ref, await top, options));
  } catch (error) {
    throw storeError(unlessAborted(error, options.signal), store.dir);
  } finally {
    await client.close();
  }
}

async function pullInto(store: Store, client: RegistryClient, ref: Reference, top: FetchedManifest, options: PullOptions): Promise<PullResult> {
  const name = ref.toString();
  const wanted = normalizePlatform(options.platform ?? hostPlatform());
  const { onProgress } = options;

  let descriptor = top.descriptor;
  let bytes = top.bytes;
  if (isIndex(descriptor.mediaType)) {
    const chosen = selectPlatform((top.document as ImageIndex).manifests, wanted, name);
    if (!isManifest(chosen.mediaType))
      throw new ImageError('EMEDIATYPE', `${name}: the entry for ${formatPlatform(wanted)} is ${chosen.mediaType}, not an image manifest`);
    descriptor = { mediaType: chosen.mediaType, digest: chosen.digest, size: chosen.size, platform: chosen.platform };
    bytes = (await store.hasBlob(chosen.digest, chosen.size))
      ? await store.readBlob(chosen)
      : (await fetchManifest(client, ref.repository, chosen.digest, chosen)).bytes;
  }
  const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  if (!isManifest(descriptor.mediaType) || !manifest.config || !Array.isArray(manifest.layers)) {
    throw new ImageError('EMANIFEST', `${name}: ${descriptor.digest} is not an image manifest`);
  }
  checkUnpackable(manifest);
  onProgress?.({
    type: 'resolved',
    reference: name,
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    ...(descriptor.platform && { platform: formatPlatform(descriptor.platform) }),
  });

  if (manifest.config.size > MAX_CONFIG_SIZE)
    throw new ImageError('EMANIFEST', `${name}: the image config is ${manifest.config.size} bytes, more than ${MAX_CONFIG_SIZE}`);
  const blobs = [{ descriptor: manifest.config, role: 'config' as const }, ...manifest.layers.map((d) => ({ descriptor: d, role: 'layer' as const }))];
  const present = await Promise.all(blobs.map(({ descriptor: blob }) => store.hasBlob(blob.digest, blob.size)));
  const missing = blobs.filter((blob, i) => {
    onProgress?.({ type: 'blob', digest: blob.descriptor.digest, size: blob.descriptor.size, role: blob.role, present: present[i]! });
    return !present[i];
  });
  // Every blob is verified before any is published: a failure stores nothing.
  const downloaded: Ingest[] = [];
  let configRead: Promise<ImageConfig> | undefined;
  const readConfig = () => {
    configRead ??= (async () => {
      const configIngest = downloaded.find((ingest) => ingest.expectedDigest === manifest.config.digest);
      return parseConfig(configIngest ? await readFile(configIngest.path) : await store.readBlob(manifest.config), manifest, name);
    })();
    return configRead;
  };
  const download = async (blob: Descriptor, onIngest?: (ingest: Ingest) => void) => {
    downloaded.push(await downloadBlob(client, ref.repository, blob, store, onProgress, onIngest));
    onProgress?.({ type: 'blob-done', digest: blob.digest });
    // Read while the layers still download, not after.
    if (blob.digest === manifest.config.digest) await readConfig();
  };
  // The manifest is written while its blobs download, and published with them.
  const manifestKept = keepManifest(store, bytes, descriptor).then((ingest) => ingest && downloaded.push(ingest));
  manifestKept.catch(() => undefined); // awaited below, after the downloads
  let config: ImageConfig;
  try {
    if (options.snapshots) {
      config = await downloadIntoSnapshots(store, manifest, missing, { download, readConfig, concurrency: options.concurrency });
    } else {
      await forEachConcurrent(missing, options.concurrency ?? 4, ({ descriptor: blob }) => download(blob));
      config = await readConfig();
    }
    await manifestKept;
  } catch (error) {
    await manifestKept.catch(() => undefined);
    await Promise.all(downloaded.map((ingest) => ingest.abort()));
    throw error;
  }
  if (options.platform && !isIndex(top.descriptor.mediaType)) {
    const offered = { os: config.os, architecture: config.architecture, ...(config.variant && { variant: config.variant }) };
    if (!platformMatches(wanted, offered)) {
      throw new ImageError('EPLATFORM', `${name} is an image for ${formatPlatform(normalizePlatform(offered))} only, not ${formatPlatform(wanted)}`);
    }
  }
  descriptor.platform ??= { os: config.os, architecture: config.architecture, ...(config.variant && { variant: config.variant }) };
  await Promise.all(downloaded.map((ingest) => ingest.publish()));
  await store.setRef(name, descriptor, { pulled: new Date() });
  onProgress?.({ type: 'done', name, digest: descriptor.digest });
  return { name, descriptor, manifest, config };
}

/**
 * The manifest's bytes in the store's ingest area, verified; none when the store has them (a
 * re-pull rewrites only index.json).
 */
async function keepManifest(store: Store, bytes: Buffer, descriptor: Descriptor): Promise<Ingest | undefined> {
  if (await store.hasBlob(descriptor.digest, descriptor.size)) return undefined;
  const ingest = await store.ingest(descriptor);
  try {
    ingest.append(bytes);
    await ingest.verify();
    return ingest;
  } catch (error) {
    await ingest.abort();
    throw error;
  }
}

interface Downloads {
  download(blob: Descriptor, onIngest?: (ingest: Ingest) => void): Promise<void>;
  readConfig(): Promise<ImageConfig>;
  concurrency?: number;
}

/**
 * The blobs of `missing` downloaded while the image's snapshots are prepared from them: the
 * config first (its diff_ids name the snapshots), then the layers, each read by the preparation
 * from its download's file as the bytes land (Ingest.readWhileWriting, which ends only once the
 * blob verified), or from the store when it has the blob. Returns the config.
 */
async function downloadIntoSnapshots(
  store: Store,
  manifest: ImageManifest,
  missing: readonly { descriptor: Descriptor; role: string }[],
  { download, readConfig, concurrency }: Downloads,
): Promise<ImageConfig> {
  const configBlob = missing.find((blob) => blob.role === 'config');
  if (configBlob) await download(configBlob.descriptor);
  const config = await readConfig();
  const inFlight = new Map(missing.filter((blob) => blob.role === 'layer').map(({ descriptor }) => [descriptor.digest, deferred<Ingest>()]));
  for (const { promise } of inFlight.values()) promise.catch(() => undefined); // awaited by the layer's turn, if it comes
  const downloads = forEachConcurrent([...inFlight.keys()], concurrency ?? 4, async (digest) => {
    const flight = inFlight.get(digest)!;
    const descriptor = manifest.layers.find((layer) => layer.digest === digest)!;
    await download(descriptor, (ingest) => flight.resolve(ingest)).catch((error: unknown) => {
      flight.reject(error);
      throw error;
    });
  });
  const { prepareSnapshots } = await import('./snapshot/prepare.js');
  const prepared = prepareSnapshots(
    store,
    { manifest, config },
    {
      async layerBytes(index) {
        const flight = inFlight.get(manifest.layers[index]!.digest);
        return flight ? (await flight.promise).readWhileWriting() : store.openBlob(manifest.layers[index]!.digest);
      },
    },
  );
  // A failed download is the cause of its layer's failure: it is the error to report.
  const [downloaded, applied] = await Promise.allSettled([downloads, prepared]);
  if (downloaded.status === 'rejected') throw downloaded.reason;
  if (applied.status === 'rejected') throw applied.reason;
  return config;
}

/** A promise and its settling functions (Node 20 has no Promise.withResolvers). */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Refuses, before anything is fetched, what unpack would refuse after: the same media type rules (media-types.ts). */
function checkUnpackable(manifest: ImageManifest): void {
  if (!isImageConfig(manifest.config.mediaType)) throw new ImageError('EMEDIATYPE', `not a container image: its config is ${manifest.config.mediaType}`);
  manifest.layers.forEach(({ mediaType, digest }, i) => {
    if (!layerCompression(mediaType)) throw new ImageError('EMEDIATYPE', `layer ${i + 1} (${digest}) is ${mediaType}, which oci cannot unpack`);
  });
}
