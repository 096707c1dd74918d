/**
 * gzip layers inflated by ISA-L in a thread of the native addon's own, which hashes them too
 * (packages/native/src/addon/inflate.cc says why not a worker). The thread runs ahead of the
 * applier by what it is lent: OUTPUT_BUFFERS buffers of BUFFER_SIZE bytes, each lent again as
 * soon as the applier is done with it, and INPUT_WINDOW compressed chunks. So memory stays
 * bounded while the next layer inflates ahead of its turn, and no chunk is allocated, faulted
 * in, copied or posted anywhere: the tar reader reads the very bytes ISA-L wrote.
 */
import type { NativeAddon, NativeGunzip } from '@oci/native';
import { corrupt, type InflateOptions } from './inflater.js';

const BUFFER_SIZE = 1 << 20;
const OUTPUT_BUFFERS = 16;
const INPUT_WINDOW = 4;

type CreateGunzip = NonNullable<NativeAddon['createGunzip']>;

/** Wakes whoever waits, all at once: the thread says something changed, not what. */
class Signal {
  #waiters: (() => void)[] = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * The inflated stream of `source`; returns the digest of the inflated bytes when an algorithm
 * is given. Each chunk yielded is valid until the next one is asked for (its buffer is then
 * lent to the thread again).
 */
export async function* gunzipInThread(
  source: AsyncIterable<Buffer>,
  createGunzip: CreateGunzip,
  options: InflateOptions,
): AsyncGenerator<Buffer, string | undefined> {
  const changed = new Signal();
  const gunzip = createGunzip(options.algorithm ?? '', () => changed.notify())!;
  const lent = Array.from({ length: OUTPUT_BUFFERS }, () => Buffer.allocUnsafeSlow(BUFFER_SIZE));
  for (const buffer of lent) gunzip.lend(buffer);
  const feeder = new Feeder(source, gunzip, changed, options.ownedChunks ?? false);
  const feeding = feeder.run();
  try {
    for (;;) {
      feeder.check();
      const length = takeNext(gunzip);
      if (length === -1) {
        await changed.wait();
      } else if (length === -2) {
        return gunzip.digest() || undefined;
      } else {
        const buffer = lent.shift()!;
        yield buffer.subarray(0, length);
        lent.push(buffer);
        gunzip.lend(buffer);
      }
    }
  } finally {
    gunzip.close(); // the thread lets go of the chunks and buffers before they are dropped here
    feeder.stop();
    await feeding;
  }
}

function takeNext(gunzip: NativeGunzip): number {
  try {
    return gunzip.take();
  } catch (error) {
    throw (error as NodeJS.ErrnoException).code === 'EINFLATE' ? corrupt('gzip', (error as Error).message) : error;
  }
}

/** Reads the compressed source into the thread, INPUT_WINDOW chunks ahead at most. */
class Feeder {
  /** Chunks written and maybe not yet consumed: the thread reads them in place. */
  #held: Uint8Array[] = [];
  #failure: { error: unknown } | undefined;
  #stopped = false;

  constructor(
    private readonly source: AsyncIterable<Buffer>,
    private readonly gunzip: NativeGunzip,
    private readonly changed: Signal,
    /** The source's chunks are its own to give (see InflateOptions); else each is copied. */
    private readonly owned: boolean,
  ) {}

  /** Never rejects: a failure to read is kept for check(). */
  async run(): Promise<void> {
    const input = this.source[Symbol.asyncIterator]();
    try {
      for (let next = await input.next(); !next.done && !this.#stopped; next = await input.next()) {
        const chunk = this.owned ? next.value : Buffer.from(next.value);
        this.#held.push(chunk);
        this.gunzip.write(chunk);
        while (!this.#stopped && this.#release() >= INPUT_WINDOW) await this.changed.wait();
      }
      if (!this.#stopped) this.gunzip.end();
    } catch (error) {
      this.#failure = { error };
      this.changed.notify();
    } finally {
      if (this.#stopped) await input.return?.();
    }
  }

  /** Throws what reading the source threw. */
  check(): void {
    if (this.#failure) throw this.#failure.error;
  }

  stop(): void {
    this.#stopped = true;
    this.changed.notify();
  }

  // Drops the chunks the thread is done with; returns how many it still reads.
  #release(): number {
    const unconsumed = this.gunzip.unconsumed();
    this.#held.splice(0, this.#held.length - unconsumed);
    return unconsumed;
  }
}
