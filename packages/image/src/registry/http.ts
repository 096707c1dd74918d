/**
 * HTTP for the registry client, on Node's own http and https modules: keep-alive connections,
 * TLS with the system CAs plus `--ca-cert`, every wait bounded by the deadline of the step it
 * belongs to (deadline.ts: connecting, the headers, the body), redirects followed by hand so
 * that credentials never travel to another host (blob storage behind a signed URL), and retries
 * with backoff, within that deadline, for what a later attempt may fix: 5xx, 429, lost
 * connections. A timeout is not retried: the step's time is up.
 *
 * Why not undici (the stack's first choice, used here before): a registry client runs in a
 * fresh `oci pull` process, and undici's start is what such a process waits for. Loading its
 * Agent and request (bundled into one file) cost ~27 ms, its llhttp WebAssembly ~40 ms more to
 * compile on the first connection (and V8's optimising recompile of it kept a finished pull
 * alive), so one manifest GET from a fresh process took 132 ms against 58 ms with node:http
 * (`node -e 0`: 33 ms); a 93 MB download ran at the same speed with either (measured here).
 * node:http parses with llhttp compiled into Node and its modules come from Node's snapshot.
 * A blob's bytes come another way (`download`, download.ts): straight off the socket; so do a
 * loopback registry's answers over plain HTTP to requests without a body (readsStraight, below).
 */
import { readFileSync } from 'node:fs';
import type { Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { abortError, sleep, throwIfAborted } from '../abort.js';
import { ImageError } from '../errors.js';
import { Deadline, type DeadlineKind } from './deadline.js';
import { startDownload } from './download.js';
import { isLoopback } from './hosts.js';
import { errorCode, isTransient, networkError } from './network-errors.js';

export interface HttpOptions {
  /** PEM files of extra certificate authorities to trust. */
  caCerts?: readonly string[];
  /** Milliseconds a step may wait for progress (deadline.ts). Default 30 s; 0 waits for ever. */
  timeout?: number;
  /** Attempts after the first for requests that may be repeated. Default 3. */
  retries?: number;
  /** First pause between attempts in ms, doubled each time. Default 200. */
  retryDelay?: number;
  /** Told of each exchange: method, URL, status (or why it failed) and the time to its headers (`oci --debug`). */
  debug?: (message: string) => void;
  /** Cancels every request in flight and every pause between attempts (abort.ts). */
  signal?: AbortSignal;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  url: URL;
  /** HTTPS without certificate checks (a loopback or --insecure registry, as Docker treats them). */
  insecure?: boolean;
  headers?: Record<string, string>;
  /** A Buffer may be sent again on a retry or redirect; a stream is sent once. */
  body?: Buffer | Readable;
  /** The step's deadline, shared by its requests; default: a new `answer` deadline. */
  deadline?: Deadline;
  /**
   * A GET of a blob: the answer is read straight off its socket (download.ts), for its body's
   * `consume`, which hands each chunk over where the socket read it.
   */
  download?: boolean;
}

/** A response's body: a stream of its bytes, with ways to read it whole or throw it away. */
export interface ResponseBody extends Readable {
  /**
   * Throws the rest away: reads a short rest (the connection then serves the next request),
   * closes the connection on a long one.
   */
  dump(): Promise<void>;
  /**
   * Hands every byte of the body to `sink` as it arrives (a chunk is valid only until `sink`
   * returns; `sink` may throw to stop the body); resolves at its end.
   */
  consume(sink: (chunk: Buffer) => void): Promise<void>;
  /** The whole body; EREGISTRY when it is longer than MAX_TEXT. */
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; a header sent several times is one value joined by ', ' (set-cookie: an array). */
  headers: IncomingHttpHeaders;
  body: ResponseBody;
  /** Where the response came from, after redirects. */
  url: URL;
}

const MAX_REDIRECTS = 5;
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const RETRY_AFTER_CAP_MS = 10_000;
const KEEP_ALIVE_MS = 10_000;
/** Bodies read whole by text() (tokens, error details) are small; a longer one is refused. */
const MAX_TEXT = 1 << 20;
/** A body thrown away longer than this closes its connection rather than be read. */
const MAX_DUMP = 64 << 10;
/** setTimeout's limit; a longer wait is made of several. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A module to send with and its keep-alive agent: plain HTTP, verified TLS, or unverified TLS. */
interface Transport {
  request: typeof import('node:http').request;
  agent: HttpAgent;
}

export class Http {
  readonly #options: HttpOptions;
  readonly #transports = new Map<'http' | 'https' | 'insecure', Promise<Transport>>();
  #secureContext: Promise<SecureContext> | undefined;

  constructor(options: HttpOptions = {}) {
    this.#options = options;
  }

  /** A deadline for a new step (deadline.ts). */
  deadline(kind?: DeadlineKind): Deadline {
    return new Deadline(this.#options.timeout ?? 30_000, kind);
  }

  /**
   * Sends the request, following redirects, and repeating it (when it may be repeated) after a
   * lost connection, a 5xx or a 429, while its deadline leaves time for the pause. The caller
   * reads or dumps the body of what is returned, before the deadline too.
   */
  async request(request: HttpRequest, { retries = this.#options.retries ?? 3 } = {}): Promise<HttpResponse> {
    const deadline = request.deadline ?? this.deadline();
    const repeatable = request.body === undefined || Buffer.isBuffer(request.body);
    if (!repeatable) retries = 0;
    for (let attempt = 0; ; attempt++) {
      let response: HttpResponse;
      try {
        response = await this.#follow(request, deadline);
      } catch (error) {
        const pause = this.#backoff(attempt);
        if (attempt >= retries || !isTransient(error) || pause >= deadline.remaining) throw networkError(error, request.url);
        await sleep(pause, this.#options.signal);
        continue;
      }
      if (attempt >= retries || !(response.status >= 500 || response.status === 429)) return response;
      const pause = this.#backoff(attempt, retryAfter(response));
      if (pause >= deadline.remaining) return response;
      await response.body.dump();
      await sleep(pause, this.#options.signal);
    }
  }

  async close(): Promise<void> {
    for (const transport of this.#transports.values()) (await transport.catch(() => undefined))?.agent.destroy();
    this.#transports.clear();
  }

  async #follow(request: HttpRequest, deadline: Deadline): Promise<HttpResponse> {
    let { url, method, body } = request;
    const { insecure, download } = request;
    const headers = { ...request.headers };
    for (let redirects = 0; ; redirects++) {
      const response = await this.#logged({ method, url, headers, body, insecure, download }, deadline);
      const location = response.headers.location;
      if (![301, 302, 303, 307, 308].includes(response.status) || typeof location !== 'string') return response;
      await response.body.dump();
      if (redirects >= MAX_REDIRECTS) throw new ImageError('EREGISTRY', `too many redirects from ${request.url.host}`);
      const next = new URL(location, url);
      // Credentials are for the registry: a signed URL to blob storage carries its own.
      if (next.origin !== url.origin) delete headers.authorization;
      if (response.status === 303) {
        method = 'GET';
        body = undefined;
      }
      url = next;
    }
  }

  async #logged(request: HttpRequest, deadline: Deadline): Promise<HttpResponse> {
    const debug = this.#options.debug;
    if (!debug) return this.#send(request, deadline);
    const started = performance.now();
    const took = () => `${Math.round(performance.now() - started)} ms`;
    try {
      const response = await this.#send(request, deadline);
      debug(`${request.method} ${request.url.href} ${response.status} (${took()})`);
      return response;
    } catch (error) {
      debug(`${request.method} ${request.url.href} failed: ${errorCode(error) ?? (error as Error).message} (${took()})`);
      throw error;
    }
  }

  /**
   * One exchange. When the deadline passes it ends, with ETIMEOUT: before the headers (the
   * request fails), or in the body (the body's reader fails). Progress moves the deadline on,
   * so the timer, when it fires early, only looks again. The signal ends it the same way.
   */
  #send(request: HttpRequest, deadline: Deadline): Promise<HttpResponse> {
    throwIfAborted(this.#options.signal);
    return readsStraight(request) ? this.#download(request, deadline) : this.#exchange(request, deadline);
  }

  // Through node:http. (Not http.request's own `signal`: aborting a response in progress
  // through it destroys a keep-alive socket with an 'error' no one listens for, Node 20.)
  async #exchange({ method, url, headers, body, insecure }: HttpRequest, deadline: Deadline): Promise<HttpResponse> {
    const { request, agent } = await this.#transport(url.protocol === 'https:' ? (insecure ? 'insecure' : 'https') : 'http');
    return new Promise((resolve, reject) => {
      let response: IncomingMessage | undefined;
      const req = request(url, { method, headers, agent });
      const settle = watch(
        deadline,
        this.#options.signal,
        { method, url },
        (error) => (response ? response.destroy(error) : req.destroy(error)),
        () => response !== undefined,
      );
      req.on('error', (error) => (response ? response.destroy(error) : reject(error)));
      req.once('close', () => {
        if (!response) settle();
      });
      req.once('response', (message: IncomingMessage) => {
        response = message;
        message.once('close', settle);
        resolve({ status: message.statusCode ?? 0, headers: message.headers, body: withReaders(message, method, url), url });
      });
      if (body instanceof Readable) {
        // Either one's failure ends the other: a request destroyed (aborted, timed out) closes
        // the body's source too (a blob's file, when pushing).
        pipeline(body, req, () => {});
      } else {
        req.end(body);
      }
    });
  }

  async #download({ method, url, headers = {}, insecure }: HttpRequest & { method: 'GET' | 'HEAD' }, deadline: Deadline): Promise<HttpResponse> {
    const tls = url.protocol !== 'https:' ? undefined : insecure ? { insecure: true as const } : { secureContext: await this.#trustedContext() };
    const download = await startDownload({ method, url, headers, tls });
    let answered = false;
    const settle = watch(
      deadline,
      this.#options.signal,
      { method, url },
      (error) => download.end(error),
      () => answered,
    );
    void download.closed.then(settle);
    const response = await download.response;
    answered = true;
    return { ...response, url };
  }

  // One for every download: making it parses the CA bundle (~100 ms).
  #trustedContext(): Promise<SecureContext> {
    this.#secureContext ??= import('node:tls').then((tls) => tls.createSecureContext({ ca: this.#trusted(tls.rootCertificates) }));
    return this.#secureContext;
  }

  // Loaded when first needed: a plain HTTP registry never loads TLS, and each agent keeps its
  // connections alive between requests.
  #transport(kind: 'http' | 'https' | 'insecure'): Promise<Transport> {
    let transport = this.#transports.get(kind);
    if (!transport) {
      transport = (async () => {
        if (kind === 'http') {
          const http = await import('node:http');
          return { request: http.request, agent: new http.Agent({ keepAlive: true, timeout: KEEP_ALIVE_MS }) };
        }
        const https = await import('node:https');
        // Unverified: no CA bundle to parse (that costs ~100 ms).
        const tls = kind === 'insecure' ? { rejectUnauthorized: false, ca: [] } : { ca: this.#trusted((await import('node:tls')).rootCertificates) };
        return { request: https.request, agent: new https.Agent({ keepAlive: true, timeout: KEEP_ALIVE_MS, ...tls }) };
      })();
      this.#transports.set(kind, transport);
    }
    return transport;
  }

  // The system's CA bundle (where an admin's own CAs land) or Node's, plus --ca-cert files and
  // NODE_EXTRA_CA_CERTS (which the oci command keeps from Node's start: bin/oci.cjs). Node's
  // are passed in: node:tls is loaded only where TLS is spoken.
  #trusted(nodeRoots: readonly string[]): string[] {
    const extra = (this.#options.caCerts ?? []).map((file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (error) {
        throw new ImageError('ENETWORK', `cannot read CA certificate ${file}: ${(error as Error).message}`);
      }
    });
    let system: string[];
    try {
      system = [readFileSync(SYSTEM_CA_BUNDLE, 'utf8')];
    } catch {
      system = [...nodeRoots];
    }
    const fromEnv = process.env.NODE_EXTRA_CA_CERTS;
    if (fromEnv && fromEnv !== SYSTEM_CA_BUNDLE) {
      try {
        extra.push(readFileSync(fromEnv, 'utf8'));
      } catch {
        // Node ignores an unreadable one too (with a warning at its start).
      }
    }
    return [...system, ...extra];
  }

  /** Milliseconds to wait before attempt `attempt + 1`. */
  #backoff(attempt: number, after?: number): number {
    return after ?? (this.#options.retryDelay ?? 200) * 2 ** attempt;
  }
}

/**
 * Which requests are read the download way (download.ts, a connection each): a blob's GET, and
 * every GET or HEAD without a body to a loopback registry over plain HTTP. A loopback connection
 * costs no round trip worth keeping it for, and a pull from such a registry then never loads
 * node:http (~6 ms of a fresh `oci pull`, before its first request could leave).
 */
function readsStraight(request: HttpRequest): request is HttpRequest & { method: 'GET' | 'HEAD' } {
  if (request.body !== undefined) return false;
  if (request.download) return request.method === 'GET';
  return (request.method === 'GET' || request.method === 'HEAD') && request.url.protocol === 'http:' && isLoopback(request.url.hostname);
}

/**
 * Ends an exchange through `end` once its deadline has passed (ETIMEOUT, in its headers or, once
 * `answered`, its body), or with the abort when the signal fires. Returns what stops watching.
 */
function watch(
  deadline: Deadline,
  signal: AbortSignal | undefined,
  request: { method: string; url: URL },
  end: (error: Error) => void,
  answered: () => boolean,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const left = deadline.remaining;
    if (left > 0) timer = setTimeout(check, Math.min(left, MAX_TIMER_MS));
    else end(timeoutError(deadline, request.method, request.url, answered() ? 'body' : 'headers'));
  };
  const abort = () => end(abortError(signal!));
  signal?.addEventListener('abort', abort, { once: true });
  check();
  return () => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', abort);
  };
}

/** What timed out and after how long, naming the request by method and path (a query may hold upload state). */
function timeoutError(deadline: Deadline, method: string, url: URL, phase: 'headers' | 'body'): ImageError {
  const request = `(${method} ${url.pathname})`;
  const message =
    phase === 'headers'
      ? `no answer from ${url.host} in ${deadline} ${request}`
      : deadline.kind === 'answer'
        ? `${url.host} did not send all of its answer in ${deadline} ${request}`
        : `${url.host} sent nothing for ${deadline} ${request}`;
  return new ImageError('ETIMEOUT', message);
}

/** The message as a ResponseBody. An error nobody reads (a body left unread) must not crash the process. */
function withReaders(message: IncomingMessage, method: string, url: URL): ResponseBody {
  message.on('error', () => {});
  const text = () => readText(message, `${url.host} (${method} ${url.pathname})`);
  const consume = async (sink: (chunk: Buffer) => void) => {
    for await (const chunk of message) sink(chunk as Buffer);
  };
  return Object.assign(message, { dump: () => dump(message), consume, text, json: async () => JSON.parse(await text()) as unknown });
}

async function dump(message: IncomingMessage): Promise<void> {
  if (message.readableEnded || message.destroyed) return;
  // A HEAD's or a short answer is complete already; waiting for more than a short one is not worth it.
  if (!message.complete && Number(message.headers['content-length'] ?? Infinity) > MAX_DUMP) {
    message.destroy();
    return;
  }
  await new Promise<void>((resolve) => {
    message.once('end', resolve).once('close', resolve).resume();
  });
}

async function readText(message: IncomingMessage, from: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of message) {
    size += (chunk as Buffer).length;
    if (size > MAX_TEXT) {
      message.destroy();
      throw new ImageError('EREGISTRY', `an answer longer than ${MAX_TEXT} bytes from ${from}`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function retryAfter(response: HttpResponse): number | undefined {
  const value = response.headers['retry-after'];
  if (typeof value !== 'string') return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS) : undefined;
}
