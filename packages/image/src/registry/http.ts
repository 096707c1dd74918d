/**
 * HTTP for the registry client, on undici: keep-alive connections, TLS with the system CAs plus
 * `--ca-cert`, a stall timeout (no headers, or no body bytes, for `timeout` ms), redirects
 * followed by hand so that credentials never travel to another host (blob storage behind a
 * signed URL), and retries with backoff for what a later attempt may fix: 5xx, 429, lost
 * connections.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import type { Dispatcher } from 'undici';
import { ImageError } from '../errors.js';

export interface HttpOptions {
  /** PEM files of extra certificate authorities to trust. */
  caCerts?: readonly string[];
  /** Milliseconds without response headers, or between body bytes, before giving up. Default 30 s. */
  timeout?: number;
  /** Attempts after the first for requests that may be repeated. Default 3. */
  retries?: number;
  /** First pause between attempts in ms, doubled each time. Default 200. */
  retryDelay?: number;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  url: URL;
  /** HTTPS without certificate checks (a loopback or --insecure registry, as Docker treats them). */
  insecure?: boolean;
  headers?: Record<string, string>;
  /** A Buffer may be sent again on a retry or redirect; a stream is sent once. */
  body?: Buffer | Readable;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** Where the response came from, after redirects. */
  url: URL;
}

const MAX_REDIRECTS = 5;
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const RETRY_AFTER_CAP_MS = 10_000;

type AgentClass = typeof import('undici').Agent;
type RequestMethod = (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
let undici: { Agent: AgentClass; request: RequestMethod } | undefined;

// Agent and Dispatcher#request only (undici's index also loads fetch, the mock agent, caches
// and more: 100+ ms), from one bundled file (scripts/vendor-undici.mjs), resolved by package
// name so that it is found from the oci bundle too.
function loadUndici() {
  undici ??= createRequire(import.meta.url)('@oci/image/vendor/undici') as typeof undici;
  return undici!;
}

export class Http {
  readonly #options: HttpOptions;
  #agent: Dispatcher | undefined;
  #insecureAgent: Dispatcher | undefined;

  constructor(options: HttpOptions = {}) {
    this.#options = options;
  }

  get timeout(): number {
    return this.#options.timeout ?? 30_000;
  }

  /**
   * Sends the request, following redirects, and repeating it (when it may be repeated) after a
   * lost connection, a 5xx or a 429. The caller reads or dumps the body of what is returned.
   */
  async request(request: HttpRequest, { retries = this.#options.retries ?? 3 } = {}): Promise<HttpResponse> {
    const repeatable = request.body === undefined || Buffer.isBuffer(request.body);
    if (!repeatable) retries = 0;
    for (let attempt = 0; ; attempt++) {
      let response: HttpResponse;
      try {
        response = await this.#follow(request);
      } catch (error) {
        if (attempt >= retries || !isTransient(error)) throw networkError(error, request.url);
        await this.#pause(attempt);
        continue;
      }
      if (attempt >= retries || !(response.status >= 500 || response.status === 429)) return response;
      await response.body.dump();
      await this.#pause(attempt, retryAfter(response));
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#agent?.close(), this.#insecureAgent?.close()]);
  }

  async #follow(request: HttpRequest): Promise<HttpResponse> {
    let { url, method, body } = request;
    const { insecure } = request;
    const headers = { ...request.headers };
    for (let redirects = 0; ; redirects++) {
      const response = await this.#send({ method, url, headers, body, insecure });
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

  async #send({ method, url, headers, body, insecure }: HttpRequest): Promise<HttpResponse> {
    const { request } = loadUndici();
    const response = await request.call(insecure ? this.#insecureDispatcher() : this.#dispatcher(), {
      origin: url.origin,
      path: url.pathname + url.search,
      method,
      headers,
      body,
      headersTimeout: this.timeout,
      bodyTimeout: this.timeout,
    });
    return { status: response.statusCode, headers: response.headers, body: response.body, url };
  }

  #dispatcher(): Dispatcher {
    if (!this.#agent) {
      const { Agent } = loadUndici();
      this.#agent = new Agent({ connect: { ca: this.#trusted() }, keepAliveTimeout: 10_000 });
    }
    return this.#agent;
  }

  // No CA bundle to parse (that costs ~100 ms): nothing is verified.
  #insecureDispatcher(): Dispatcher {
    this.#insecureAgent ??= new (loadUndici().Agent)({ connect: { rejectUnauthorized: false, ca: [] }, keepAliveTimeout: 10_000 });
    return this.#insecureAgent;
  }

  // The system's CA bundle (where an admin's own CAs land) or Node's, plus --ca-cert files.
  #trusted(): string[] | undefined {
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
      system = [...rootCertificates];
    }
    const fromEnv = process.env.NODE_EXTRA_CA_CERTS;
    if (fromEnv && fromEnv !== SYSTEM_CA_BUNDLE) {
      try {
        extra.push(readFileSync(fromEnv, 'utf8'));
      } catch {
        // Node warns about it at start already.
      }
    }
    return [...system, ...extra];
  }

  #pause(attempt: number, after?: number): Promise<void> {
    const delay = after ?? (this.#options.retryDelay ?? 200) * 2 ** attempt;
    return new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function retryAfter(response: HttpResponse): number | undefined {
  const value = response.headers['retry-after'];
  if (typeof value !== 'string') return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS) : undefined;
}

const TRANSIENT = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** True for errors a later attempt may not meet: lost or refused connections, stalls. */
export function isTransient(error: unknown): boolean {
  return TRANSIENT.has(errorCode(error) ?? '');
}

/** True when a TLS handshake failed because the far end does not speak TLS (a plain HTTP registry). */
export function isNotTls(error: unknown): boolean {
  const code = errorCode(error) ?? '';
  return code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || code === 'ECONNRESET';
}

function errorCode(error: unknown): string | undefined {
  let e = error as { code?: string; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 4; depth++, e = e.cause as typeof e) {
    if (typeof e.code === 'string' && e.code !== 'ENETWORK') return e.code;
  }
  return undefined;
}

/** One line for a request that got no answer. */
export function networkError(error: unknown, url: URL): ImageError {
  if (error instanceof ImageError) return error;
  const code = errorCode(error);
  const host = url.host;
  const why =
    code === 'ENOTFOUND' || code === 'EAI_AGAIN'
      ? `unknown host ${url.hostname}`
      : code === 'ECONNREFUSED'
        ? `connection refused by ${host}`
        : code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT'
          ? `no answer from ${host} in time`
          : code === 'UND_ERR_BODY_TIMEOUT'
            ? `${host} stopped sending data`
            : /^ERR_SSL|^ERR_TLS|CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)/.test(code ?? '')
              ? `TLS with ${host} failed: ${(error as Error).message} (trust its CA with --ca-cert)`
              : `cannot reach ${host}: ${(error as Error).message ?? String(error)}`;
  return new ImageError('ENETWORK', why, { cause: error });
}
