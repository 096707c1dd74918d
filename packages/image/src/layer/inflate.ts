/**
 * Decompression off the main thread. The main thread applies entries with synchronous syscalls;
 * zlib's own async mode runs in the thread pool but needs the main thread for every chunk
 * handed back, so it stalls whenever a file is being written, and the two end up taking turns
 * (2.3 s for the Debian benchmark image). Off the main thread, inflating and applying overlap:
 * a layer takes as long as the slower of the two.
 *
 * Two inflaters, each running ahead of the applier by at most OUTPUT_WINDOW bytes:
 * - gzip with the native addon's ISA-L inflater (igzip, 2.4x zlib's speed here), in libuv's
 *   thread pool, when the addon has it;
 * - otherwise a worker thread with Node's zlib (gzip) or zstd-napi (zstd). The worker's code is
 *   the source text of `inflaterMain` (the `oci` command is a single bundled file, so there is
 *   no worker file to point at); it loads zstd-napi from the path resolved here. Flow control
 *   both ways: the worker asks for a compressed chunk for each one it has inflated (INPUT_WINDOW
 *   of them in flight), and pauses when more than OUTPUT_WINDOW bytes it sent are not yet taken.
 * Both hash the inflated bytes (the layer's diff_id) where they inflate them.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { NativeInflater } from '@oci/native';
import { ImageError } from '../errors.js';
import type { Compression } from '../media-types.js';

/** Inflated bytes an inflater may run ahead of the applier (the next layer inflates during this one). */
const OUTPUT_WINDOW = 64 << 20;
const INPUT_WINDOW = 8;
const CHUNK_SIZE = 256 << 10;
/** Output of one run of the native inflater: a few milliseconds of work in the thread pool. */
const NATIVE_CHUNK_SIZE = 1 << 20;

/**
 * Hands what a producer inflates to the consumer (the applier): its chunks in order, then its
 * result, or its failure. `drain` yields them as they come.
 */
class Handoff<Result> {
  #queue: Buffer[] = [];
  #queued = 0;
  #ended: { result: Result } | undefined;
  #failure: unknown;
  #wake: (() => void) | undefined;
  #room: (() => void) | undefined;
  #closed = false;

  push(chunk: Buffer): void {
    this.#queue.push(chunk);
    this.#queued += chunk.byteLength;
    this.#notify();
  }

  end(result: Result): void {
    this.#ended = { result };
    this.#notify();
  }

  fail(error: unknown): void {
    this.#failure ??= error;
    this.#notify();
  }

  /** The consumer is gone: a producer waiting for room goes on (and sees that it should stop). */
  close(): void {
    this.#closed = true;
    this.#makeRoom();
  }

  /** Resolves once the consumer has taken enough that at most OUTPUT_WINDOW bytes wait. */
  room(): Promise<void> {
    if (this.#queued <= OUTPUT_WINDOW || this.#closed) return Promise.resolve();
    return new Promise((resolve) => (this.#room = resolve));
  }

  /** The chunks, then the result; `taken` hears of each chunk handed over. */
  async *drain(taken?: (bytes: number) => void): AsyncGenerator<Buffer, Result> {
    for (;;) {
      const chunk = this.#queue.shift();
      if (chunk) {
        this.#queued -= chunk.byteLength;
        if (this.#queued <= OUTPUT_WINDOW) this.#makeRoom();
        taken?.(chunk.byteLength);
        yield chunk;
        continue;
      }
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#ended) return this.#ended.result;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  #notify(): void {
    this.#wake?.();
    this.#wake = undefined;
  }

  #makeRoom(): void {
    this.#room?.();
    this.#room = undefined;
  }
}

/**
 * The inflated stream of a gzip `source` through the native inflater (which hashes it when made
 * with an algorithm); its return value is the digest of the inflated bytes.
 */
export async function* inflateInPool(source: AsyncIterable<Uint8Array>, inflater: NativeInflater, hashed: string | undefined): AsyncGenerator<Buffer, string | undefined> {
  const handoff = new Handoff<string | undefined>();
  let stopped = false;
  const run = (input: Buffer, output: Buffer) =>
    new Promise<{ consumed: number; produced: number; finished: boolean }>((resolve, reject) =>
      inflater.run(input, output, (error, consumed, produced, finished) => (error ? reject(corrupt('gzip', error.message)) : resolve({ consumed, produced, finished }))),
    );
  const produce = async () => {
    let finished = false;
    for await (const chunk of source) {
      let input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      while (input.byteLength > 0) {
        await handoff.room();
        if (stopped) return;
        const output = Buffer.allocUnsafeSlow(NATIVE_CHUNK_SIZE);
        const step = await run(input, output);
        if (step.consumed === 0 && step.produced === 0) throw corrupt('gzip', 'no progress');
        input = input.subarray(step.consumed);
        if (step.produced > 0) handoff.push(output.subarray(0, step.produced));
        finished = step.finished;
      }
      if (stopped) return;
    }
    // The input may end just as the last output buffer filled: drain what is left inside.
    for (let step = { produced: NATIVE_CHUNK_SIZE, finished }; !step.finished && step.produced === NATIVE_CHUNK_SIZE; ) {
      await handoff.room();
      if (stopped) return;
      const output = Buffer.allocUnsafeSlow(NATIVE_CHUNK_SIZE);
      step = await run(Buffer.alloc(0), output);
      if (step.produced > 0) handoff.push(output.subarray(0, step.produced));
      finished = step.finished;
    }
    if (!finished) throw corrupt('gzip', 'unexpected end of file');
    handoff.end(hashed && `${hashed}:${inflater.digest()}`);
  };
  const producing = produce().catch((error: unknown) => handoff.fail(error));
  try {
    return yield* handoff.drain();
  } finally {
    stopped = true;
    handoff.close();
    await producing;
  }
}

type ToWorker = { type: 'input'; data: ArrayBuffer } | { type: 'end' } | { type: 'taken'; bytes: number };
type FromWorker = { type: 'output'; data: ArrayBuffer } | { type: 'more' } | { type: 'done'; digest?: string } | { type: 'error'; message: string; code?: string };

interface WorkerData {
  compression: 'gzip' | 'zstd';
  zstdPath: string | undefined;
  window: number;
  /** Compressed chunks in flight to the worker, so it never waits for the next. */
  inputWindow: number;
  chunkSize: number;
  /** Hash the inflated bytes (the layer's diff_id) here, off the main thread. */
  algorithm: string | undefined;
}

// Runs inside the worker, from its source text: it must not refer to anything outside itself.
function inflaterMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const zlib = require('node:zlib') as typeof import('node:zlib');
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  const { compression, zstdPath, window, inputWindow, chunkSize, algorithm } = workerData as WorkerData;
  const hash = algorithm ? createHash(algorithm) : undefined;
  const port = parentPort!;
  const post = (message: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);
  let inflater: import('node:stream').Transform;
  try {
    if (compression === 'gzip') {
      inflater = zlib.createGunzip({ chunkSize });
    } else {
      const zstd = require(zstdPath!) as { DecompressStream: new () => import('node:stream').Transform };
      inflater = new zstd.DecompressStream();
    }
  } catch (error) {
    post({ type: 'error', message: `zstd layers need the zstd-napi package, which is not installed or did not build (${(error as Error).message})`, code: 'ENOZSTD' });
    return;
  }
  let outstanding = 0;
  inflater.on('data', (chunk: Buffer) => {
    hash?.update(chunk);
    const copy = new Uint8Array(chunk); // zlib's output buffers share memory: send a copy
    outstanding += copy.byteLength;
    post({ type: 'output', data: copy.buffer }, [copy.buffer]);
    if (outstanding > window) inflater.pause();
  });
  inflater.on('end', () => post({ type: 'done', digest: hash && `${algorithm}:${hash.digest('hex')}` }));
  inflater.on('error', (error: Error) => post({ type: 'error', message: error.message }));
  port.on('message', (message: ToWorker) => {
    if (message.type === 'input') {
      inflater.write(Buffer.from(message.data), () => post({ type: 'more' }));
    } else if (message.type === 'end') {
      inflater.end();
    } else {
      outstanding -= message.bytes;
      if (outstanding <= window && inflater.isPaused()) inflater.resume();
    }
  });
  for (let i = 0; i < inputWindow; i++) post({ type: 'more' });
}

/**
 * The decompressed stream of `source`, inflated in a worker thread; its return value is the
 * digest of the inflated bytes when `algorithm` is given.
 */
export async function* inflateInWorker(source: AsyncIterable<Uint8Array>, compression: 'gzip' | 'zstd', algorithm?: string): AsyncGenerator<Buffer, string | undefined> {
  const workerData: WorkerData = { compression, zstdPath: compression === 'zstd' ? resolveZstd() : undefined, window: OUTPUT_WINDOW, inputWindow: INPUT_WINDOW, chunkSize: CHUNK_SIZE, algorithm };
  const worker = new Worker(`(${inflaterMain.toString()})()`, { eval: true, workerData });
  const input = source[Symbol.asyncIterator]();
  const handoff = new Handoff<string | undefined>();
  let finished = false;
  const feed = async () => {
    try {
      const next = await input.next();
      if (next.done) {
        worker.postMessage({ type: 'end' } satisfies ToWorker);
        return;
      }
      const copy = new Uint8Array(next.value); // the source may reuse its buffers
      worker.postMessage({ type: 'input', data: copy.buffer } satisfies ToWorker, [copy.buffer]);
    } catch (error) {
      handoff.fail(error);
    }
  };
  worker.on('message', (message: FromWorker) => {
    if (message.type === 'more') void feed();
    else if (message.type === 'output') handoff.push(Buffer.from(message.data));
    else if (message.type === 'done') {
      finished = true;
      handoff.end(message.digest);
    } else handoff.fail(message.code === 'ENOZSTD' ? new ImageError('ELAYER', message.message) : corrupt(compression, message.message));
  });
  worker.on('error', (error) => handoff.fail(error));
  worker.on('exit', () => {
    if (!finished) handoff.fail(new ImageError('ELAYER', `the ${compression} worker exited early`));
  });
  try {
    return yield* handoff.drain((bytes) => worker.postMessage({ type: 'taken', bytes } satisfies ToWorker));
  } finally {
    await worker.terminate();
    await input.return?.();
  }
}

function corrupt(compression: Compression, why: string): ImageError {
  return new ImageError('ELAYER', `corrupt ${compression} data (${why})`);
}

function resolveZstd(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('zstd-napi');
  } catch {
    return undefined;
  }
}
