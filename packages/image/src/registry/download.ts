/**
 * Blob downloads read straight off the socket. node:http hands a body over in 64 KB chunks,
 * each copied out of its parser into a Buffer allocated for it and passed through a Readable:
 * for a 93 MB image, ~1,500 allocations (faulted in, then collected), a copy of every byte and
 * the stream's bookkeeping per chunk, all on the main thread, which a cold `oci run` needs for
 * applying layers too. Receiving a 72 MB blob that way cost 0.45 s of CPU beyond `node -e 0`
 * here; read with net's `onread` into one buffer that the socket fills again and again, 0.06 s.
 *
 * So a download (HttpRequest.download) speaks HTTP/1.1 itself, for one request per connection
 * (`Connection: close`; a blob is worth a connection): the request is written, the answer's
 * head parsed, and its body (Content-Length, chunked, or up to the close) handed in place to
 * the one consumer a blob has, `consume(sink)`, which hashes and writes each chunk before it
 * returns. A body read otherwise (an error's text, `for await`) is copied out, as node:http's is.
 * TLS reads into the same buffer (tls.connect takes `onread` too).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { ImageError } from '../errors.js';
import { DownloadBody } from './download-body.js';

/** One socket read at most; a loopback registry fills most of it each time. */
const READ_SIZE = 1 << 20;
/** The status line and headers; more is refused (node:http's limit is 16 KB). */
const MAX_HEAD = 64 << 10;
/** A chunk-size line of a chunked body, or a trailer line. */
const MAX_LINE = 4 << 10;
/** Headers node:http keeps once (it drops later copies): the same here. */
const SINGLE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

export interface DownloadRequest {
  method: 'GET' | 'HEAD';
  url: URL;
  headers: Record<string, string>;
  /** For https: the CAs to verify with, or none (an --insecure registry). */
  tls?: { secureContext: SecureContext } | { insecure: true };
}

export interface DownloadResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: DownloadBody;
}

/**
 * The exchange: `response` resolves at the answer's head; `end(error)` stops it at any point
 * (the request fails, or, once answered, the body); `closed` resolves when its socket is gone.
 */
export interface Download {
  response: Promise<DownloadResponse>;
  end(error: Error): void;
  closed: Promise<void>;
}

export async function startDownload(request: DownloadRequest): Promise<Download> {
  const { url } = request;
  const head = requestHead(request);
  const buffer = Buffer.allocUnsafeSlow(READ_SIZE);
  let exchange!: Exchange;
  const onread = {
    buffer,
    callback(length: number) {
      exchange.received(buffer.subarray(0, length));
      return true; // the exchange pauses the socket itself
    },
  };
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let socket: Socket;
  if (url.protocol === 'https:') {
    const tls = await import('node:tls');
    const { isIP } = await import('node:net');
    const verify = request.tls && 'secureContext' in request.tls ? { secureContext: request.tls.secureContext } : { rejectUnauthorized: false };
    // onread is tls.connect's too (Node's types leave it out).
    const options: import('node:tls').ConnectionOptions & import('node:net').ConnectOpts = {
      host,
      port: Number(url.port || 443),
      ...(isIP(host) ? {} : { servername: host }),
      ...verify,
      onread,
    };
    socket = tls.connect(options);
  } else {
    const net = await import('node:net');
    socket = net.connect({ host, port: Number(url.port || 80), onread });
  }
  exchange = new Exchange(socket, request.method === 'HEAD', url);
  socket.write(head);
  return { response: exchange.response, end: (error) => exchange.fail(error), closed: exchange.closed };
}

function requestHead({ method, url, headers }: DownloadRequest): string {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, 'connection: close'];
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value))
      throw new ImageError('EREGISTRY', `a request header that HTTP cannot carry: ${JSON.stringify(name)}`);
    if (name.toLowerCase() !== 'host' && name.toLowerCase() !== 'connection') lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** What the socket is reading: the answer's head, then its body framed one of three ways. */
type Phase =
  | { at: 'head'; bytes: Buffer[]; length: number }
  | { at: 'length'; left: number }
  | { at: 'chunk-size'; line: string }
  | { at: 'chunk'; left: number }
  | { at: 'chunk-end'; line: string }
  | { at: 'trailers'; line: string }
  | { at: 'until-close' }
  | { at: 'done' };

class Exchange {
  readonly response: Promise<DownloadResponse>;
  readonly closed: Promise<void>;
  #answer!: { resolve(response: DownloadResponse): void; reject(error: unknown): void };
  #phase: Phase = { at: 'head', bytes: [], length: 0 };
  #body: DownloadBody | undefined;
  #failed = false;

  constructor(
    private readonly socket: Socket,
    private readonly head: boolean,
    private readonly url: URL,
  ) {
    this.response = new Promise((resolve, reject) => (this.#answer = { resolve, reject }));
    this.response.catch(() => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', (error) => this.fail(error));
    // The far end closed: the end of a body that runs up to it, else an answer cut short.
    socket.on('end', () => this.#closedByServer());
    socket.on('close', () => this.#closedByServer());
  }

  /** Bytes the socket just read into its buffer (valid only during this call). */
  received(bytes: Buffer): void {
    try {
      while (bytes.length > 0 && !this.#failed) bytes = this.#take(bytes);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#phase = { at: 'done' };
    this.socket.destroy();
    this.#answer.reject(error);
    this.#body?.destroy(error);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.#failed && this.#phase.at !== 'done') this.socket.resume();
  }

  #closedByServer(): void {
    if (this.#failed || this.#phase.at === 'done') return;
    if (this.#phase.at === 'until-close') return this.#finish();
    const what = this.#phase.at === 'head' ? 'before it answered' : "before the end of the answer's body";
    this.fail(Object.assign(new Error(`${this.url.host} closed the connection ${what}`), { code: 'ECONNRESET' }));
  }

  /** Consumes what `bytes` holds for the current phase; returns the rest. */
  #take(bytes: Buffer): Buffer {
    const phase = this.#phase;
    switch (phase.at) {
      case 'head':
        return this.#takeHead(phase, bytes);
      case 'length':
      case 'chunk': {
        const body = bytes.subarray(0, phase.left);
        phase.left -= body.length;
        if (phase.left === 0) this.#phase = phase.at === 'length' ? { at: 'done' } : { at: 'chunk-end', line: '' };
        this.#body!.deliver(body);
        if (this.#phase.at === 'done') this.#finish();
        return bytes.subarray(body.length);
      }
      case 'until-close':
        this.#body!.deliver(bytes);
        return bytes.subarray(bytes.length);
      case 'chunk-size':
      case 'chunk-end':
      case 'trailers': {
        const taken = takeLine(phase.line, bytes);
        if ('partial' in taken) {
          this.#phase = { ...phase, line: taken.partial };
          return bytes.subarray(bytes.length);
        }
        this.#afterLine(phase.at, taken.line);
        return taken.rest;
      }
      case 'done':
        return bytes.subarray(bytes.length); // nothing may follow with `Connection: close`
    }
  }

  #afterLine(at: 'chunk-size' | 'chunk-end' | 'trailers', line: string): void {
    if (at === 'chunk-end') {
      if (line !== '') throw this.#malformed('a chunk does not end where its size says');
      this.#phase = { at: 'chunk-size', line: '' };
    } else if (at === 'chunk-size') {
      const size = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
      if (!size) throw this.#malformed(`a chunk size of ${JSON.stringify(line.slice(0, 40))}`);
      const left = parseInt(size[1]!, 16);
      this.#phase = left === 0 ? { at: 'trailers', line: '' } : { at: 'chunk', left };
    } else if (line === '') {
      this.#phase = { at: 'done' };
      this.#finish();
    } else {
      this.#phase = { at: 'trailers', line: '' };
    }
  }

  #takeHead(phase: Extract<Phase, { at: 'head' }>, bytes: Buffer): Buffer {
    const seen = phase.length;
    const all = seen === 0 ? bytes : Buffer.concat([...phase.bytes, bytes]);
    const end = all.indexOf('\r\n\r\n', Math.max(0, seen - 3));
    if (end < 0) {
      if (all.length > MAX_HEAD) throw this.#malformed(`headers longer than ${MAX_HEAD} bytes`);
      phase.bytes = [seen === 0 ? Buffer.from(all) : all]; // the socket's buffer is read into again
      phase.length = all.length;
      return bytes.subarray(bytes.length);
    }
    const { status, headers } = this.#parseHead(all.toString('latin1', 0, end));
    const rest = all.subarray(end + 4);
    if (status >= 100 && status < 200) {
      // An interim answer (103 Early Hints): the real one follows.
      this.#phase = { at: 'head', bytes: [], length: 0 };
      return rest;
    }
    this.#phase = this.#bodyPhase(status, headers);
    this.#body = new DownloadBody(this);
    this.#answer.resolve({ status, headers, body: this.#body });
    if (this.#phase.at === 'done') this.#finish();
    return rest;
  }

  #parseHead(text: string): { status: number; headers: IncomingHttpHeaders } {
    const [statusLine, ...lines] = text.split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine!);
    if (!status) throw this.#malformed(`a status line of ${JSON.stringify(statusLine!.slice(0, 40))}`);
    const headers: IncomingHttpHeaders = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw this.#malformed(`a header line of ${JSON.stringify(line.slice(0, 40))}`);
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      const before = headers[name];
      if (name === 'content-length' && before !== undefined && before !== value) throw this.#malformed('two different Content-Lengths');
      if (name === 'set-cookie') headers[name] = [...((before as string[] | undefined) ?? []), value];
      else if (before === undefined) headers[name] = value;
      else if (!SINGLE.has(name)) headers[name] = `${before as string}, ${value}`;
    }
    return { status: Number(status[1]), headers };
  }

  /** RFC 9112 6.3: no body, chunked, Content-Length, or up to the close. */
  #bodyPhase(status: number, headers: IncomingHttpHeaders): Phase {
    if (this.head || status === 204 || status === 304) return { at: 'done' };
    const coding = headers['transfer-encoding'];
    if (coding !== undefined) {
      if (!/(^|,)\s*chunked\s*$/i.test(coding)) throw this.#malformed(`a Transfer-Encoding of ${coding}`);
      return { at: 'chunk-size', line: '' };
    }
    const length = headers['content-length'];
    if (length === undefined) return { at: 'until-close' };
    if (!/^\d{1,15}$/.test(length)) throw this.#malformed(`a Content-Length of ${JSON.stringify(length)}`);
    return Number(length) === 0 ? { at: 'done' } : { at: 'length', left: Number(length) };
  }

  #finish(): void {
    this.#phase = { at: 'done' };
    this.socket.destroy();
    this.#body?.ended();
  }

  #malformed(what: string): ImageError {
    return new ImageError('EREGISTRY', `${this.url.host} sent an answer HTTP/1.1 does not allow: ${what}`);
  }
}

/**
 * The line ended by CRLF that `before` (read earlier) starts and `bytes` goes on with: the line
 * and the bytes after it, or, without its end yet, what there is of it.
 */
function takeLine(before: string, bytes: Buffer): { line: string; rest: Buffer } | { partial: string } {
  const text = before + bytes.toString('latin1', 0, Math.min(bytes.length, MAX_LINE));
  const end = text.indexOf('\r\n');
  if (end >= 0) return { line: text.slice(0, end), rest: bytes.subarray(end + 2 - before.length) };
  if (text.length >= MAX_LINE) throw new ImageError('EREGISTRY', `a line of a chunked body longer than ${MAX_LINE} bytes`);
  return { partial: text };
}
