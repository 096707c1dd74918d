/**
 * Decompression off the main thread. The main thread applies entries with synchronous syscalls;
 * zlib's own async mode runs in the thread pool but needs the main thread for every chunk
 * handed back, so it stalls whenever a file is being written, and the two end up taking turns
 * (2.3 s for the Debian benchmark image). In a worker thread, inflating and applying overlap:
 * the layer takes as long as the slower of the two (inflating, about 0.9 s there).
 *
 * The worker's code is the source text of `inflaterMain` (the `oci` command is a single bundled
 * file, so there is no worker file to point at); it loads zstd-napi from the path resolved here.
 * Flow control both ways: the worker asks for a compressed chunk for each one it has inflated
 * (INPUT_WINDOW of them in flight), and pauses
 * when more than OUTPUT_WINDOW bytes it sent are not yet taken, so memory stays bounded.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { ImageError } from '../errors.js';
import type { Compression } from '../media-types.js';

/** Inflated bytes a worker may run ahead of the applier (the next layer inflates during this one). */
const OUTPUT_WINDOW = 64 << 20;
const INPUT_WINDOW = 8;
const CHUNK_SIZE = 256 << 10;

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
  const queue: Buffer[] = [];
  let finished = false;
  let digest: string | undefined;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
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
      failure ??= error as Error;
      notify();
    }
  };
  worker.on('message', (message: FromWorker) => {
    if (message.type === 'more') void feed();
    else if (message.type === 'output') queue.push(Buffer.from(message.data));
    else if (message.type === 'done') {
      finished = true;
      digest = message.digest;
    }
    else failure ??= message.code === 'ENOZSTD' ? new ImageError('ELAYER', message.message) : new ImageError('ELAYER', `corrupt ${compression} data (${message.message})`);
    notify();
  });
  worker.on('error', (error) => {
    failure ??= error;
    notify();
  });
  worker.on('exit', () => {
    failure ??= finished ? undefined : new ImageError('ELAYER', `the ${compression} worker exited early`);
    notify();
  });
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk) {
        worker.postMessage({ type: 'taken', bytes: chunk.byteLength } satisfies ToWorker);
        yield chunk;
        continue;
      }
      if (failure) throw failure;
      if (finished) return digest;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    await worker.terminate();
    await input.return?.();
  }
}

function resolveZstd(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('zstd-napi');
  } catch {
    return undefined;
  }
}
