/**
 * index.json, the layout's list of images, each named by its `org.opencontainers.image.ref.name`
 * annotation. Read whole and synchronously (it is small), checked (another tool may have written
 * it), and changed only under the store's `index` lock: read, change, write a temp file, fsync,
 * rename, so no update is lost and readers always see a whole file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Descriptor, type ImageIndex, MediaType, REF_NAME_ANNOTATION } from '@oci/specs';
import { PULLED_ANNOTATION } from '../annotations.js';
import { ImageError } from '../errors.js';
import { fsp, inItsDirectory } from '../fs-promises.js';
import { parseReference } from '../reference.js';
import { withLock } from './lock.js';
import { describeFileError } from './small-files.js';

export class IndexFile {
  readonly path: string;
  /** Fixed: only the holder of the index lock writes it. */
  readonly #temp: string;

  constructor(
    storeDir: string,
    /** The store's `index` lock. */
    private readonly lock: string,
  ) {
    this.path = path.join(storeDir, 'index.json');
    this.#temp = path.join(storeDir, 'ingest', 'index.json.tmp');
  }

  read(): ImageIndex {
    let index: ImageIndex;
    try {
      index = JSON.parse(readFileSync(this.path, 'utf8')) as ImageIndex;
    } catch (error) {
      throw new ImageError('ESTORE', `${this.path}: ${describeFileError(error)}`, { cause: error });
    }
    // Everything that reads names relies on this shape.
    if (!isObject(index) || index.schemaVersion !== 2 || !Array.isArray(index.manifests)) throw new ImageError('ESTORE', `${this.path} is not an image index`);
    const bad = index.manifests.findIndex((entry) => !isObject(entry) || (entry.annotations !== undefined && !isObject(entry.annotations)));
    if (bad >= 0) throw new ImageError('ESTORE', `${this.path}: manifests[${bad}] is not a descriptor`);
    return index;
  }

  /** Every named image: ref name → manifest (or index) descriptor, in index.json's order. */
  refs(): Map<string, Descriptor> {
    const refs = new Map<string, Descriptor>();
    for (const descriptor of this.read().manifests) {
      const name = descriptor.annotations?.[REF_NAME_ANNOTATION];
      if (name !== undefined) refs.set(name, descriptor);
    }
    return refs;
  }

  /** Names `descriptor` as `name`, replacing what the name pointed to; with `pulled`, records when. */
  async setRef(name: string, descriptor: Descriptor, pulled: Date | undefined): Promise<void> {
    const { [PULLED_ANNOTATION]: _, ...annotations } = descriptor.annotations ?? {};
    await this.#update((manifests) => [
      ...manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== name),
      { ...descriptor, annotations: { ...annotations, [REF_NAME_ANNOTATION]: name, ...(pulled && { [PULLED_ANNOTATION]: pulled.toISOString() }) } },
    ]);
  }

  /** Lists `descriptor` without a name, unless an entry without a name lists it already. */
  async addUnnamed(descriptor: Descriptor): Promise<void> {
    await this.#update((manifests) =>
      manifests.some((m) => m.digest === descriptor.digest && m.annotations?.[REF_NAME_ANNOTATION] === undefined) ? manifests : [...manifests, descriptor],
    );
  }

  /** Removes the name; false when there was no such name. */
  async removeRef(name: string): Promise<boolean> {
    let found = false;
    await this.#update((manifests) =>
      manifests.filter((m) => {
        const match = m.annotations?.[REF_NAME_ANNOTATION] === name;
        found ||= match;
        return !match;
      }),
    );
    return found;
  }

  async #update(change: (manifests: Descriptor[]) => Descriptor[]): Promise<void> {
    await withLock(this.lock, async () => {
      const index = this.read();
      index.manifests = change(index.manifests);
      const file = await inItsDirectory(this.#temp, () => fsp().open(this.#temp, 'w'));
      try {
        await file.writeFile(JSON.stringify(index));
        await file.sync();
      } finally {
        await file.close();
      }
      await fsp().rename(this.#temp, this.path);
    });
  }
}

export function emptyIndex(): ImageIndex {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
}

/**
 * The name among `refs` that `input` means: itself when there, else its normalised reference
 * (`busybox` → `docker.io/library/busybox:latest`). ENOTFOUND when neither is there.
 */
export function findName(refs: ReadonlyMap<string, Descriptor>, input: string): string {
  if (refs.has(input)) return input;
  let normalised: string | undefined;
  try {
    normalised = parseReference(input).toString();
  } catch {
    // not a reference: only an exact name could match
  }
  if (normalised !== undefined && refs.has(normalised)) return normalised;
  throw new ImageError('ENOTFOUND', `no image named ${input} in the store`);
}

/** The name whose entry records the latest pull (PULLED_ANNOTATION), if any. */
export function lastPulled(refs: ReadonlyMap<string, Descriptor>): string | undefined {
  let last: { name: string; at: string } | undefined;
  for (const [name, descriptor] of refs) {
    const at = descriptor.annotations?.[PULLED_ANNOTATION];
    if (at !== undefined && (last === undefined || at >= last.at)) last = { name, at };
  }
  return last?.name;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
