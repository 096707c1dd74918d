/**
 * What `oci images`, `oci inspect`, `oci tag` and `oci rmi` do with the store, as library
 * functions. An image is found as docker and podman find one: by name (`busybox`), by
 * `name@sha256:…` (the digest its name points to), or by ID: the digest of its config, whole or
 * a prefix of its hex (`f07e00e8763a`), which is what `oci images` shows.
 */
import type { Descriptor, ImageIndex, ImageManifest } from '@oci/specs';
import { ImageError } from './errors.js';
import { isIndex } from './media-types.js';
import { formatPlatform, hostPlatform, selectPlatform } from './platform.js';
import { parseReference } from './reference.js';
import { readImage, type StoredImage } from './store/image.js';
import type { Store } from './store/layout.js';

export interface ImageSummary {
  /** The name in index.json. */
  ref: string;
  /**
   * The image ID, as docker and podman show it: the config digest of the image this host runs
   * (for an index, its platform's); the name's own digest when there is none (no image for
   * this host, or blobs missing).
   */
  id: string;
  /** The manifest (or index) digest the name points to. */
  digest: string;
  /** `linux/amd64`; for an index, every platform it holds, comma-separated. */
  platform: string;
  /** Bytes of the manifest, config and layers as stored (compressed). */
  size: number;
  /** The image config's `created`, if it says. */
  created?: string;
}

/** Every named image in the store, in index.json's order. Entries whose blobs are missing are listed with what is known. */
export async function listImages(store: Store): Promise<ImageSummary[]> {
  const summaries: ImageSummary[] = [];
  for (const [ref, descriptor] of await store.refs()) {
    const summary: ImageSummary = {
      ref,
      id: descriptor.digest,
      digest: descriptor.digest,
      platform: descriptor.platform ? formatPlatform(descriptor.platform) : '',
      size: descriptor.size,
    };
    try {
      if (isIndex(descriptor.mediaType)) {
        const index = await store.readJSON<ImageIndex>(descriptor);
        summary.platform = index.manifests
          .filter((m) => m.platform)
          .map((m) => formatPlatform(m.platform!))
          .join(',');
        summary.id = (await store.readJSON<ImageManifest>(selectPlatform(index.manifests, hostPlatform(), ref))).config.digest;
      } else {
        const manifest = await store.readJSON<ImageManifest>(descriptor);
        const config = await store.readJSON<{ created?: string; os?: string; architecture?: string; variant?: string }>(manifest.config);
        summary.id = manifest.config.digest;
        summary.size += manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
        if (config.created) summary.created = config.created;
        if (!summary.platform && config.os && config.architecture)
          summary.platform = formatPlatform({ os: config.os, architecture: config.architecture, ...(config.variant && { variant: config.variant }) });
      }
    } catch {
      // A damaged entry still lists; inspect says what is wrong with it.
    }
    summaries.push(summary);
  }
  return summaries;
}

export interface FoundImage {
  /** The name in index.json. */
  name: string;
  /** Every name that `input` matches (an ID or digest may match several). */
  names: string[];
  by: 'name' | 'digest' | 'id';
}

/**
 * The image `input` means: a name (Store.resolveName), `name@sha256:…` naming the digest a name
 * of that repository points to, or an ID (see ImageSummary.id) or a prefix of its hex. An ID
 * prefix that two different images share is EREFERENCE; nothing matching is ENOTFOUND.
 */
export async function findImage(store: Store, input: string): Promise<FoundImage> {
  try {
    const name = await store.resolveName(input);
    return { name, names: [name], by: 'name' };
  } catch (error) {
    if (!(error instanceof ImageError && error.code === 'ENOTFOUND')) throw error;
  }
  const byDigest = input.includes('@') ? await namesAtDigest(store, input) : [];
  if (byDigest.length > 0) return { name: byDigest[0]!, names: byDigest, by: 'digest' };
  const hex = /^(?:sha256:)?([0-9a-f]{1,64})$/.exec(input)?.[1];
  if (hex !== undefined) {
    const matches = (await listImages(store)).filter((image) => image.id.slice(7).startsWith(hex));
    const ids = new Set(matches.map((image) => image.id));
    if (ids.size > 1) throw new ImageError('EREFERENCE', `${input} is the start of ${ids.size} image IDs: give more of it`);
    if (matches.length > 0) return { name: matches[0]!.ref, names: matches.map((image) => image.ref), by: 'id' };
  }
  throw new ImageError('ENOTFOUND', `no image named ${input} in the store`);
}

/** The names of `repository@digest`'s repository that point at that digest. */
async function namesAtDigest(store: Store, input: string): Promise<string[]> {
  let wanted: ReturnType<typeof parseReference>;
  try {
    wanted = parseReference(input);
  } catch {
    return [];
  }
  if (!wanted.digest) return [];
  const names: string[] = [];
  for (const [name, descriptor] of await store.refs()) {
    if (descriptor.digest === wanted.digest && sameRepository(name, wanted.name)) names.push(name);
  }
  return names;
}

function sameRepository(name: string, repository: string): boolean {
  try {
    return parseReference(name).name === repository;
  } catch {
    return false;
  }
}

/**
 * Names `target` (normalised: `busybox:1` is `docker.io/library/busybox:1`) what `source` (see
 * findImage) names. Returns the new name.
 */
export async function tagImage(store: Store, source: string, target: string): Promise<string> {
  const { name } = await findImage(store, source);
  const reference = parseReference(target);
  if (reference.digest) throw new ImageError('EREFERENCE', `a tag names an image, not a digest: ${target}`);
  const descriptor: Descriptor = await store.resolve(name);
  const tagged = reference.toString();
  await store.setRef(tagged, descriptor);
  return tagged;
}

/**
 * Removes the name `input` means (see findImage); the blobs stay until `store.gc()`. An ID that
 * several names share is refused (as docker does): which to remove is for the user to say.
 * Returns the name removed.
 */
export async function removeImage(store: Store, input: string): Promise<string> {
  const found = await findImage(store, input);
  if (found.names.length > 1)
    throw new ImageError('EREFERENCE', `${input} is the image of ${found.names.length} names (${found.names.join(', ')}): remove them by name`);
  await store.removeRef(found.name);
  return found.name;
}

/** What `oci inspect` shows, in podman's `image inspect` shape (its field names), with the manifest too. */
export interface ImageInspection {
  /** The config digest's hex, as podman shows it. */
  Id: string;
  /** The digest the name points to (an index's, for a multi-platform name). */
  Digest: string;
  /** The name `input` was found by. */
  Name: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created?: string;
  Author?: string;
  Architecture: string;
  Os: string;
  Variant?: string;
  /** The image config's `config`: Env, Cmd, Entrypoint, Labels, User… */
  Config: Record<string, unknown>;
  Labels: Record<string, string>;
  RootFS: StoredImage['config']['rootfs'];
  History: NonNullable<StoredImage['config']['history']>;
  /** Bytes of the manifest, config and layers as stored (compressed). */
  Size: number;
  MediaType: string;
  Manifest: StoredImage['manifest'];
}

/** The image `input` (see findImage) means, for `platform` when it names an index. */
export async function inspectImage(store: Store, input: string, platform = hostPlatform()): Promise<ImageInspection> {
  const { name } = await findImage(store, input);
  const image = await readImage(store, name, platform);
  const top = await store.resolve(name);
  const names = [...(await store.refs())].filter(([, descriptor]) => descriptor.digest === top.digest).map(([other]) => other);
  const config = image.config;
  const runtime = (config.config ?? {}) as Record<string, unknown>;
  return {
    Id: image.manifest.config.digest.slice(7),
    Digest: top.digest,
    Name: name,
    RepoTags: names.filter((other) => !other.includes('@')),
    RepoDigests: [...new Set(names.map((other) => `${repositoryOf(other)}@${top.digest}`))],
    ...(config.created && { Created: config.created }),
    ...(config.author && { Author: config.author }),
    Architecture: config.architecture,
    Os: config.os,
    ...(config.variant && { Variant: config.variant }),
    Config: runtime,
    Labels: (runtime.Labels as Record<string, string> | undefined) ?? {},
    RootFS: config.rootfs,
    History: config.history ?? [],
    Size: image.descriptor.size + image.manifest.config.size + image.manifest.layers.reduce((sum, layer) => sum + layer.size, 0),
    MediaType: image.descriptor.mediaType,
    Manifest: image.manifest,
  };
}

function repositoryOf(name: string): string {
  try {
    return parseReference(name).name;
  } catch {
    return name.replace(/[:@].*$/, '');
  }
}
