/**
 * Decompression off the main thread. The main thread applies entries with synchronous syscalls;
 * zlib's own async mode runs in the thread pool but needs the main thread for every chunk
 * handed back, so it stalls whenever a file is being written, and the two end up taking turns
 * (2.3 s for the Debian benchmark image). In a worker thread, inflating and applying overlap:
 * a layer takes as long as the slower of the two. (So does a chain of thread-pool jobs, tried:
 * each job is queued from the main thread, which the applier keeps busy between chunks.)
 *
 * The worker inflates gzip with Node's zlib (when the native addon cannot: gunzip.ts inflates
 * with ISA-L in a thread of the addon's, without a worker) and zstd with zstd-napi. Its code is
 * the source text of `inflaterMain` (the `oci` command is a single bundled file, so there is no
 * worker file to point at); it loads zstd-napi from the path resolved here. It hashes what it
 * inflates (the layer's diff_id). Flow control both ways: the worker asks for a compressed chunk
 * for each one it has inflated (INPUT_WINDOW of them in flight), and pauses when more than
 * OUTPUT_WINDOW bytes it sent are not yet taken, so memory stays bounded.
 */
import { ImageError } from '../errors.js';
import { corrupt, type InflateOptions } from './inflater.js';

/** Inflated bytes an inflater may run ahead of the applier (the next layer inflates during this one). */
const OUTPUT_WINDOW = 64 << 20;
const INPUT_WINDOW = 8;
const CHUNK_SIZE = 256 << 10;

/**
 * Hands what a producer inflates to the consumer (the applier): its chunks in order, then its
 * result, or its failure. `drain` yields them as they come.
 */
class Handoff<Result> {
  #queue: Buffer[] = [];
  #ended: { result: Result } | undefined;
  #failure: unknown;
  #wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    this.#queue.push(chunk);
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

  /** The chunks, then the result; `taken` hears of each chunk handed over. */
  async *drain(taken: (bytes: number) => void): AsyncGenerator<Buffer, Result> {
    for (;;) {
      const chunk = this.#queue.shift();
      if (chunk) {
        taken(chunk.byteLength);
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
}

type ToWorker = { type: 'input'; data: ArrayBuffer } | { type: 'end' } | { type: 'taken'; bytes: number };
type FromWorker =
  | { type: 'output'; data: ArrayBuffer; length: number }
  | { type: 'more' }
  | { type: 'done'; digest?: string }
  | { type: 'error'; message: string; code?: string };

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
    post({
      type: 'error',
      message: `zstd layers need the zstd-napi package, which is not installed or did not build (${(error as Error).message})`,
      code: 'ENOZSTD',
    });
    return;
  }
  let outstanding = 0;
  inflater.on('data', (chunk: Buffer) => {
    hash?.update(chunk);
    // zlib's and zstd's output buffers are theirs (they write on): a copy goes.
    const data = new Uint8Array(chunk).buffer;
    outstanding += chunk.byteLength;
    post({ type: 'output', data, length: chunk.byteLength }, [data]);
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
 * digest of the inflated bytes when an algorithm is given.
 */
export async function* inflateInWorker(
  source: AsyncIterable<Uint8Array>,
  compression: 'gzip' | 'zstd',
  options: InflateOptions,
): AsyncGenerator<Buffer, string | undefined> {
  const { algorithm, ownedChunks } = options;
  const workerData: WorkerData = {
    compression,
    zstdPath: compression === 'zstd' ? resolveZstd() : undefined,
    window: OUTPUT_WINDOW,
    inputWindow: INPUT_WINDOW,
    chunkSize: CHUNK_SIZE,
    algorithm,
  };
  // Loaded here, not at the top: gzip layers mostly inflate without a worker (gunzip.ts).
  const { Worker } = process.getBuiltinModule('node:worker_threads');
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
      const chunk = next.value;
      const whole = ownedChunks && chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
      const data = whole ? (chunk.buffer as ArrayBuffer) : new Uint8Array(chunk).buffer; // else the source may reuse its buffers
      worker.postMessage({ type: 'input', data } satisfies ToWorker, [data]);
    } catch (error) {
      handoff.fail(error);
    }
  };
  worker.on('message', (message: FromWorker) => {
    if (message.type === 'more') void feed();
    else if (message.type === 'output') handoff.push(Buffer.from(message.data, 0, message.length));
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

function resolveZstd(): string | undefined {
  try {
    // node:module only here: it loads Node's ES module loader too.
    return process
      .getBuiltinModule('node:module')
      .createRequire(import.meta.url)
      .resolve('zstd-napi');
  } catch {
    return undefined;
  }
}
