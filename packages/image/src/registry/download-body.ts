/** A download's body (./download.ts reads the socket and feeds it). */
import { Readable } from 'node:stream';
import { ImageError } from '../errors.js';

/** The connection a body is read from: paused while nobody reads, failed when the reader stops. */
export interface BodySource {
  pause(): void;
  resume(): void;
  fail(reason: Error): void;
}

/**
 * A download's body. Its one fast reader is `consume(sink)`: each chunk goes to `sink` where the
 * socket read it, valid only until `sink` returns. Read as a stream instead (an error's text,
 * `for await`), chunks are copies. Bytes that arrive before either reader starts are kept (the
 * socket is paused meanwhile).
 */
export class DownloadBody extends Readable {
  #exchange: BodySource;
  #sink: ((chunk: Buffer) => void) | undefined;
  #streaming = false;
  #kept: Buffer[] = [];
  #ended = false;
  #consumed: { resolve(): void; reject(error: unknown): void } | undefined;

  constructor(exchange: BodySource) {
    super();
    this.#exchange = exchange;
    // An error nobody reads (a body left unread) must not crash the process.
    this.on('error', () => {});
  }

  /** Hands every byte of the body, as it arrives, to `sink` (which may throw to stop it); resolves at its end. */
  consume(sink: (chunk: Buffer) => void): Promise<void> {
    if (this.#sink || this.#streaming) throw new Error('a download body has one reader');
    if (this.destroyed) return Promise.reject(this.errored ?? new Error('the download was stopped'));
    return new Promise((resolve, reject) => {
      this.#consumed = { resolve, reject };
      this.#sink = sink;
      const kept = this.#kept;
      this.#kept = [];
      for (const chunk of kept) this.deliver(chunk);
      if (this.#ended) this.ended();
      else this.#exchange.resume();
    });
  }

  /** The rest is not wanted: the connection goes (it serves one request anyway). */
  async dump(): Promise<void> {
    this.destroy();
  }

  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    await this.consume((chunk) => {
      size += chunk.length;
      if (size > MAX_TEXT) throw new ImageError('EREGISTRY', `an answer longer than ${MAX_TEXT} bytes`);
      chunks.push(Buffer.from(chunk));
    });
    return Buffer.concat(chunks).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  /** From the exchange: body bytes, valid only during the call. */
  deliver(chunk: Buffer): void {
    if (this.#sink) {
      try {
        this.#sink(chunk);
      } catch (error) {
        this.#exchange.fail(error as Error);
      }
    } else if (this.#streaming) {
      if (!this.push(Buffer.from(chunk))) this.#exchange.pause();
    } else {
      this.#kept.push(Buffer.from(chunk));
      this.#exchange.pause();
    }
  }

  /** From the exchange: the body is complete. */
  ended(): void {
    this.#ended = true;
    if (this.#sink) this.#consumed?.resolve();
    else if (this.#streaming) this.push(null);
  }

  override _read(): void {
    if (this.#sink) return;
    this.#streaming = true;
    const kept = this.#kept;
    this.#kept = [];
    for (const chunk of kept) this.push(chunk);
    if (this.#ended) this.push(null);
    else this.#exchange.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const reason = error ?? new Error('the download was stopped');
    if (!this.#ended) this.#exchange.fail(reason);
    this.#consumed?.reject(reason);
    callback(error);
  }
}

/** Bodies read whole by text() (an error's details) are small; a longer one is refused. */
const MAX_TEXT = 1 << 20;
