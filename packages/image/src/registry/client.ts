/**
 * A client for one registry (distribution-spec v2 API): requests about a repository go to the
 * registry's endpoints in order (mirrors first for pulls, falling back to the registry itself),
 * each with its own authentication state; plain HTTP is tried only where hosts.ts allows it.
 */
import { ImageError } from '../errors.js';
import { Authenticator, describeCredentials, repositoryScope } from './auth.js';
import { type Credentials, findCredentials, parseCreds } from './credentials.js';
import type { Deadline } from './deadline.js';
import { type Endpoint, endpointsFor, type HostsConfig, isLoopback, loadHostsConfig } from './hosts.js';
import { Http, type HttpOptions, type HttpRequest, type HttpResponse } from './http.js';
import { isNotTls, networkError } from './network-errors.js';

export interface RegistryOptions extends HttpOptions {
  /** `user:password` for the registry (not its mirrors), instead of the auth files' (credentials.ts). */
  creds?: string;
  /** Credentials for the registry (not its mirrors), as `creds` but from elsewhere (`oci login`). */
  credentials?: Credentials;
  /** The auth file to read instead of the default ones (auth-files.ts; `--authfile`). */
  authFile?: string;
  /** Allow plain HTTP (and HTTPS fallback to it) to any host. */
  insecure?: boolean;
  /** Mirrors and insecure hosts; default: OCI_REGISTRY_MIRRORS and the config file. */
  hosts?: HostsConfig;
  /** Where the auth files and credential helpers are looked up (REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, DOCKER_CONFIG, HOME, PATH). */
  env?: NodeJS.ProcessEnv;
}

export interface RegistryRequest {
  method: HttpRequest['method'];
  /** '' for the registry itself (`/v2/`, no scope). */
  repository: string;
  /** After `/v2/REPOSITORY/`, e.g. `manifests/latest`; or a full URL (an upload location). */
  path: string | URL;
  headers?: Record<string, string>;
  body?: HttpRequest['body'];
  /** Token scope actions on `repository`; default pull. */
  actions?: readonly string[];
  /** More scopes for the token, e.g. pull on the repository a blob is mounted from. */
  scopes?: readonly string[];
  /** Go to the registry itself even for a GET or HEAD (a push's existence check), not to a mirror. */
  upstream?: boolean;
  /** Statuses the caller handles itself; anything else from a mirror moves on to the next endpoint. */
  ok?: (status: number) => boolean;
  /** The step this request is part of (deadline.ts); default: a step of its own. */
  deadline?: Deadline;
  /** A blob's GET, its body read straight off the socket (HttpRequest.download). */
  download?: boolean;
}

/** Sends a request to the registry whose API is at base URL `at` (`http://127.0.0.1:5000`). */
type Ask = (at: string) => Promise<HttpResponse>;

export interface RegistryResponse extends HttpResponse {
  endpoint: Endpoint;
  /** What the failed answer said, when its body was read already (a mirror's 404). */
  detail?: string;
  /** How the other endpoints tried failed (`mirror m.example: connection refused…`), for the error's message. */
  others?: string[];
}

export class RegistryClient {
  readonly http: Http;
  readonly #pullEndpoints: Endpoint[];
  readonly #pushEndpoints: Endpoint[];
  readonly #auth = new Map<string, Authenticator>();
  readonly #schemes = new Map<Endpoint, Promise<void>>();
  readonly #dead = new Set<Endpoint>();
  readonly #options: RegistryOptions;

  constructor(
    /** host[:port], `docker.io` for Docker Hub. */
    readonly registry: string,
    options: RegistryOptions = {},
    /** The repository the requests are about, whose namespaced credentials (`host/team`) apply. */
    private readonly repository?: string,
  ) {
    this.#options = options;
    this.http = new Http(options);
    const hosts = options.hosts ?? loadHostsConfig(options.env);
    this.#pullEndpoints = endpointsFor(registry, hosts, { insecure: options.insecure });
    this.#pushEndpoints = endpointsFor(registry, hosts, { insecure: options.insecure, useMirrors: false });
  }

  /**
   * Sends a request about a repository. Pull requests (GET, HEAD) go to the mirrors first and
   * fall back to the registry when a mirror fails or lacks the content; others go to the registry.
   * Each endpoint gets the whole timeout: the deadline restarts when the request moves on.
   *
   * Content that an endpoint said it does not have (404), while the endpoints after it could not
   * be reached, is missing: the mirror's 404 is the answer (ENOTFOUND from `error()`, naming the
   * endpoints that failed), not the network failure of the last one.
   */
  async request(request: RegistryRequest): Promise<RegistryResponse> {
    const pulling = (request.method === 'GET' || request.method === 'HEAD') && !request.upstream;
    const endpoints = (pulling ? this.#pullEndpoints : this.#pushEndpoints).filter((e) => !this.#dead.has(e));
    const ok = request.ok ?? ((status: number) => status < 400);
    const deadline = request.deadline ?? this.http.deadline();
    const failures: string[] = [];
    // The first mirror that said 404, and the line that says so among the failures.
    let notFound: { response: RegistryResponse; line: string } | undefined;
    for (const [i, endpoint] of endpoints.entries()) {
      const last = i === endpoints.length - 1;
      if (i > 0) deadline.restart();
      try {
        const response = await this.#send(endpoint, request, deadline);
        if (ok(response.status)) return response;
        if (last) return failures.length > 0 ? { ...response, others: failures } : response;
        const detail = await describeFailure(response);
        const line = `mirror ${endpoint.url.host}: ${detail}`;
        if (response.status === 404) notFound ??= { response: { ...response, detail }, line };
        failures.push(line);
      } catch (error) {
        const failure = networkError(error, endpoint.url);
        if (failure.code === 'ENETWORK' || failure.code === 'ETIMEOUT') this.#dead.add(endpoint);
        if (last) {
          if (notFound) return { ...notFound.response, others: [...failures.filter((line) => line !== notFound!.line), failure.message] };
          if (failures.length === 0) throw failure;
          throw new ImageError(failure.code, `${failures.join('; ')}; then ${failure.message}`, { cause: error });
        }
        failures.push(`mirror ${endpoint.url.host}: ${failure.message}`);
      }
    }
    throw new ImageError('ENETWORK', `no endpoint for ${this.registry}`);
  }

  /** The error a response that is not a success stands for, for `what` (e.g. `manifest busybox:latest`). */
  async error(response: RegistryResponse, what: string, repository: string): Promise<ImageError> {
    const detail = response.detail ?? (await describeFailure(response));
    const host = response.endpoint.url.host;
    switch (response.status) {
      case 401:
        return new ImageError(
          'EAUTH',
          `${host} refused ${describeCredentials(await this.#authFor(response.endpoint).credentials(), host)}${repository ? ` for ${repository}` : ''} (${detail})`,
        );
      case 403:
        return new ImageError(
          'EAUTH',
          `${host} denied access${repository ? ` to ${repository}` : ''} for ${describeCredentials(await this.#authFor(response.endpoint).credentials(), host)} (${detail})`,
        );
      case 404: {
        const others = response.others?.length ? `; ${response.others.join('; ')}` : '';
        return new ImageError('ENOTFOUND', `${what} not found in ${response.endpoint.mirror ? 'mirror ' : ''}${host} (${detail})${others}`);
      }
      case 429:
        return new ImageError('EREGISTRY', `${host} is rate limiting requests (429 Too Many Requests): try again later`);
      default:
        return new ImageError('EREGISTRY', `${host} answered ${response.status} for ${what} (${detail})`);
    }
  }

  /**
   * Asks the registry itself for its API root (`GET /v2/`) with the credentials, through its
   * authentication (a token without scope, or Basic): resolves when it accepts them, as
   * `docker login` and `podman login` check before storing credentials.
   */
  async ping(): Promise<void> {
    const response = await this.request({ method: 'GET', repository: '', path: '', upstream: true });
    if (response.status !== 200) throw await this.error(response, `the API root of ${this.registry}`, '');
    await response.body.dump();
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  async #send(endpoint: Endpoint, request: RegistryRequest, deadline: Deadline): Promise<RegistryResponse> {
    const auth = this.#authFor(endpoint);
    const scopes = [...(request.repository ? [repositoryScope(request.repository, request.actions ?? ['pull'])] : []), ...(request.scopes ?? [])];
    const urlAt = (at: string) =>
      request.path instanceof URL ? request.path : new URL(`${at}/v2/${request.repository ? `${request.repository}/` : ''}${request.path}`);
    const send = async (url: URL, options?: { retries: number }) => {
      const headers = { ...request.headers };
      const authorization = await auth.header(scopes);
      if (authorization) headers.authorization = authorization;
      const exchange = { method: request.method, url, headers, body: request.body, insecure: endpoint.skipVerify, deadline, download: request.download };
      return this.http.request(exchange, options);
    };
    const repeatable = request.body === undefined && !(request.path instanceof URL) && (request.method === 'GET' || request.method === 'HEAD');
    let response = await this.#settleScheme(endpoint, deadline, repeatable ? (at) => send(urlAt(at), { retries: 0 }) : undefined);
    const url = urlAt(base(endpoint));
    for (let round = 0; ; round++) {
      response ??= await send(url);
      if (response.status === 401 && round === 0) {
        const challenge = response.headers['www-authenticate'];
        let answered: boolean;
        try {
          answered = await auth.answer(typeof challenge === 'string' ? challenge : challenge?.[0], scopes, deadline);
        } catch (error) {
          await response.body.dump();
          throw error;
        }
        if (answered) {
          await response.body.dump();
          response = undefined;
          continue;
        }
      }
      return { ...response, endpoint };
    }
  }

  /**
   * A loopback or --insecure registry may speak plain HTTP: found out once per endpoint, within
   * the deadline of the request that first needs to know. `ask` sends that request, when it may
   * be sent twice, to the registry at a base URL: the answer it got while finding out is its own.
   */
  async #settleScheme(endpoint: Endpoint, deadline: Deadline, ask?: Ask): Promise<HttpResponse | undefined> {
    if (!endpoint.plainHttpAllowed || endpoint.url.protocol === 'http:') return undefined;
    const settling = this.#schemes.get(endpoint);
    if (settling) return void (await settling);
    const found = this.#findScheme(endpoint, deadline, ask);
    const settled = found.then(() => undefined);
    settled.catch(() => undefined); // the request that found out reports it; later ones meet it here
    this.#schemes.set(endpoint, settled);
    return found;
  }

  // HTTPS unless the server does not speak TLS, which a ping finds out (unverified, so it needs
  // no CA bundle). A loopback registry is first asked in plain HTTP: by the request itself when
  // it may be sent twice, else by a ping (GET /v2/). Neither carries credentials (a request has
  // none before a challenge asked for them). An answer in HTTP other than 400 (what a TLS port
  // says to plain HTTP) cannot come from TLS on that port: the pull then neither loads Node's TLS
  // nor makes a failing handshake (~20 ms of a fresh `oci pull`), nor spends a round trip on
  // finding out, and the request has its answer. Anything else (a 400, a reset) leads to the TLS
  // ping, as for other hosts. A question that timed out ends the request: its time is up.
  async #findScheme(endpoint: Endpoint, deadline: Deadline, ask?: Ask): Promise<HttpResponse | undefined> {
    if (isLoopback(endpoint.url.hostname)) {
      const plain = await this.#askInPlainHttp(base(endpoint).replace(/^https:/, 'http:'), deadline, ask);
      if (plain) {
        usePlainHttp(endpoint);
        // An answer to try again (a 5xx, a 429) is tried again as the request's own, with its
        // retries.
        if (ask && plain.status < 500 && plain.status !== 429) return plain;
        await plain.body.dump();
        return undefined;
      }
    }
    try {
      await (await this.#ping(new URL(`${base(endpoint)}/v2/`), deadline, true)).body.dump();
    } catch (error) {
      if (isTimeout(error)) throw error;
      if (isNotTls(error)) usePlainHttp(endpoint);
    }
    return undefined;
  }

  /** The answer to `ask` (or a ping) at `at`, unless it is not one plain HTTP gives. */
  async #askInPlainHttp(at: string, deadline: Deadline, ask?: Ask): Promise<HttpResponse | undefined> {
    try {
      const response = await (ask ? ask(at) : this.#ping(new URL(`${at}/v2/`), deadline));
      if (response.status !== 400) return response;
      await response.body.dump();
    } catch (error) {
      if (isTimeout(error)) throw error;
    }
    return undefined;
  }

  #ping(url: URL, deadline: Deadline, insecure = false): Promise<HttpResponse> {
    return this.http.request({ method: 'GET', url, insecure, deadline }, { retries: 0 });
  }

  #authFor(endpoint: Endpoint): Authenticator {
    const host = endpoint.url.host;
    let auth = this.#auth.get(host);
    if (!auth) {
      const credentials = async (): Promise<Credentials | undefined> => {
        if (endpoint.mirror) return findCredentials(host, undefined, this.#options);
        if (this.#options.credentials) return this.#options.credentials;
        if (this.#options.creds) return parseCreds(this.#options.creds);
        return findCredentials(this.registry, this.repository, this.#options);
      };
      auth = new Authenticator(host, this.http, credentials);
      this.#auth.set(host, auth);
    }
    return auth;
  }
}

const isTimeout = (error: unknown) => error instanceof ImageError && error.code === 'ETIMEOUT';

function usePlainHttp(endpoint: Endpoint): void {
  endpoint.url = new URL(endpoint.url);
  endpoint.url.protocol = 'http:';
}

function base(endpoint: Endpoint): string {
  return `${endpoint.url.origin}${endpoint.url.pathname.replace(/\/+$/, '')}`;
}

/** `MANIFEST_UNKNOWN: manifest unknown`, from the distribution-spec error body, or the status. */
async function describeFailure(response: HttpResponse): Promise<string> {
  let text = '';
  try {
    text = await response.body.text();
  } catch {
    // the body is lost; the status says enough
  }
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) return errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join(', ');
  } catch {
    // not JSON
  }
  return `HTTP ${response.status}`;
}
