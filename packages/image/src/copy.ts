/**
 * `copy`: an image from one location to another (copy/locations.ts: a registry, an OCI layout,
 * an archive, the content store), as `skopeo copy` does with its defaults: the manifest byte for
 * byte where the destination holds its media type, so digests do not change (`oci:` and
 * `oci-archive:` hold OCI types only: a Docker manifest becomes an OCI one there, with a new
 * digest, as skopeo makes it; and a docker-archive written before Docker 25 has no manifest to
 * keep, so one is made), blobs streamed and checked, one platform of an index or, with `all`,
 * all of it.
 */
import type { Descriptor, Platform } from '@oci/specs';
import { throwIfAborted, unlessAborted } from './abort.js';
import { ArchiveDestination } from './archive/archive-writer.js';
import { ImageArchive } from './archive/image-archive.js';
import { Copier } from './copy/copy-image.js';
import { formatLocation, type ImageLocation, parseLocation } from './copy/locations.js';
import { RegistryDestination, RegistrySource } from './copy/registry.js';
import { StoreDestination, StoreSource, storedImage } from './copy/store.js';
import type { ContentSource, ImageDestination, Manifest } from './copy/types.js';
import { ImageError, storeError } from './errors.js';
import type { ProgressListener } from './progress.js';
import { parseReference } from './reference.js';
import { RegistryClient, type RegistryOptions } from './registry/client.js';
import { Store } from './store/layout.js';

export interface CopyOptions extends RegistryOptions {
  /** The content store, for locations that are names of images in it. */
  store?: Store;
  /** Every platform of an index, the index itself kept (its digest unchanged); default: `platform`'s image only. */
  all?: boolean;
  /** The platform to take from an index; default this host's. */
  platform?: Platform;
  /** Credentials for the source's registry, and for the destination's (default: `creds`, else the Docker config). */
  sourceCreds?: string;
  destinationCreds?: string;
  onProgress?: ProgressListener;
}

export interface CopyResult {
  /** The destination, as given. */
  destination: string;
  /** What was copied: the source's manifest, or the platform's from its index. */
  descriptor: Descriptor;
}

interface Source {
  content: ContentSource;
  top: Manifest;
  close(): Promise<void>;
}

interface Destination {
  /** Made when the copy starts (an archive's temp file is created then). */
  open(): Promise<ImageDestination>;
  names: string[];
  /** A layout being written: the copy runs inside its lease. */
  store?: Store;
}

export async function copy(from: string, to: string, options: CopyOptions = {}): Promise<CopyResult> {
  const { signal } = options;
  throwIfAborted(signal);
  const source = parseLocation(from);
  const target = parseLocation(to);
  let store: Store | undefined;
  try {
    const opened = await openSource(source, options);
    try {
      const destination = await destinationOf(target, source, options);
      store = destination.store;
      const run = async () => {
        const writer = await destination.open();
        try {
          const copied = await new Copier(opened.content, writer, {
            all: options.all,
            platform: options.platform,
            signal,
            onProgress: options.onProgress,
          }).copy(opened.top, from);
          await writer.tag(copied, destination.names);
          await writer.commit();
          return copied;
        } catch (error) {
          await writer.abort();
          throw error;
        }
      };
      const copied = store ? await store.lease(run) : await run();
      options.onProgress?.({ type: 'done', name: formatLocation(target), digest: copied.descriptor.digest });
      return { destination: to, descriptor: copied.descriptor };
    } finally {
      await opened.close();
    }
  } catch (error) {
    const reported = unlessAborted(error, signal);
    throw store ? storeError(reported, store.dir) : reported;
  }
}

async function openSource(location: ImageLocation, options: CopyOptions): Promise<Source> {
  switch (location.transport) {
    case 'docker': {
      const client = new RegistryClient(
        location.reference.registry,
        { ...options, ...(options.sourceCreds !== undefined && { creds: options.sourceCreds }) },
        location.reference.repository,
      );
      const source = new RegistrySource(client, location.reference);
      try {
        return { content: source, top: await source.resolve(), close: () => client.close() };
      } catch (error) {
        await client.close();
        throw error;
      }
    }
    case 'store': {
      const store = contentStore(options);
      return { content: new StoreSource(store), top: (await storedImage(store, location.name)).top, close: async () => {} };
    }
    case 'oci': {
      const store = await Store.open(location.path);
      return { content: new StoreSource(store), top: (await storedImage(store, location.ref)).top, close: async () => {} };
    }
    default: {
      const archive = await ImageArchive.open(location.path, { signal: options.signal });
      try {
        return { content: archive, top: archive.find(location.ref).top, close: () => archive.close() };
      } catch (error) {
        await archive.close();
        throw error;
      }
    }
  }
}

async function destinationOf(location: ImageLocation, source: ImageLocation, options: CopyOptions): Promise<Destination> {
  switch (location.transport) {
    case 'docker': {
      const { reference } = location;
      // From another repository of the same registry, blobs are mounted rather than sent.
      const mountFrom =
        source.transport === 'docker' && source.reference.registry === reference.registry && source.reference.repository !== reference.repository
          ? [source.reference.repository]
          : [];
      return {
        names: reference.tag ? [reference.tag] : [],
        async open() {
          const client = new RegistryClient(
            reference.registry,
            { ...options, ...(options.destinationCreds !== undefined && { creds: options.destinationCreds }) },
            reference.repository,
          );
          return new RegistryDestination(client, reference, mountFrom);
        },
      };
    }
    case 'store': {
      const store = contentStore(options);
      return { store, names: [parseReference(location.name).toString()], open: async () => new StoreDestination(store, { pulled: new Date() }) };
    }
    case 'oci': {
      const store = await Store.open(location.path, { create: true });
      return { store, names: location.ref !== undefined ? [location.ref] : [], open: async () => new StoreDestination(store, { ociOnly: true }) };
    }
    default: {
      const format = location.transport;
      // A docker-archive's names are references (RepoTags), an oci-archive's are taken as they are (ref.name).
      const name = location.ref === undefined ? undefined : format === 'docker-archive' ? parseReference(location.ref).toString() : location.ref;
      return { names: name !== undefined ? [name] : [], open: () => ArchiveDestination.create(format, { to: location.path }) };
    }
  }
}

function contentStore(options: CopyOptions): Store {
  if (!options.store) throw new ImageError('EREFERENCE', 'a name without a transport is an image of the content store, and no store was given');
  return options.store;
}
