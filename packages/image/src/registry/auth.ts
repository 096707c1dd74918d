/**
 * Registry authentication (distribution's token and basic schemes): a request goes out with what
 * this host needed last time; a 401 names the scheme in `WWW-Authenticate`; for Bearer, a token
 * for the repository's scope comes from the realm (anonymous, or with credentials) and is reused
 * until it expires; for Basic, the credentials go on every request to that host.
 */
import { ImageError } from '../errors.js';
import type { Credentials } from './credentials.js';
import type { Deadline } from './deadline.js';
import type { Http } from './http.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (and several challenges in one header). */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  const token = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*))?\s*,?/y;
  let current: Challenge | undefined;
  while (token.lastIndex < header.length) {
    const start = token.lastIndex;
    const match = token.exec(header);
    if (!match || token.lastIndex === start) break;
    const [, name, value] = match;
    if (value === undefined) {
      current = { scheme: name!.toLowerCase(), params: {} };
      challenges.push(current);
    } else if (current) {
      current.params[name!.toLowerCase()] = value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
    }
  }
  return challenges;
}

/** A scope for a token: `repository:library/busybox:pull` (actions joined by commas). */
export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

interface Token {
  value: string;
  expires: number;
}

/** Tokens are refreshed this long before the expiry the server gave. */
const EXPIRY_MARGIN_MS = 10_000;
/** distribution's default when a token response has no expires_in. */
const DEFAULT_TOKEN_SECONDS = 60;

/** One host's authentication state. */
export class Authenticator {
  #challenge: Challenge | undefined;
  readonly #tokens = new Map<string, Token>();
  #credentials: Promise<Credentials | undefined> | undefined;

  constructor(
    readonly host: string,
    private readonly http: Http,
    private readonly findCredentials: () => Promise<Credentials | undefined>,
  ) {}

  /** The credentials this host is tried with (looked up once, when first needed). */
  credentials(): Promise<Credentials | undefined> {
    this.#credentials ??= this.findCredentials();
    return this.#credentials;
  }

  /** The Authorization header for a request needing `scopes`, if this host asked for one before. */
  async header(scopes: readonly string[]): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') return basicHeader(await this.credentials());
    const token = this.#tokens.get(scopes.join(' '));
    return token && token.expires > Date.now() ? `Bearer ${token.value}` : undefined;
  }

  /**
   * Takes in a 401's `WWW-Authenticate`. Returns false when there is nothing new to try (the
   * scheme is unknown, or Basic with no credentials). A token is fetched within `deadline`, the
   * one of the request that was refused.
   */
  async answer(header: string | undefined, scopes: readonly string[], deadline?: Deadline): Promise<boolean> {
    const challenge = parseChallenges(header ?? '').find((c) => c.scheme === 'bearer' || c.scheme === 'basic');
    if (!challenge) return false;
    this.#challenge = challenge;
    if (challenge.scheme === 'basic') return (await this.credentials()) !== undefined;
    const wanted = [...new Set([...scopes, ...(challenge.params.scope ? challenge.params.scope.split(' ') : [])])];
    this.#tokens.set(scopes.join(' '), await this.#fetchToken(challenge.params, wanted, deadline));
    return true;
  }

  async #fetchToken(params: Record<string, string>, scopes: readonly string[], deadline: Deadline | undefined): Promise<Token> {
    let realm: URL;
    try {
      realm = new URL(params.realm ?? '');
    } catch {
      throw new ImageError('EAUTH', `${this.host} asked for a token from an invalid realm '${params.realm ?? ''}'`);
    }
    const credentials = await this.credentials();
    const response = credentials?.identityToken
      ? await this.http.request({
          method: 'POST',
          url: realm,
          deadline,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: Buffer.from(
            new URLSearchParams({
              grant_type: 'refresh_token',
              refresh_token: credentials.identityToken,
              client_id: 'oci',
              ...(params.service && { service: params.service }),
              scope: scopes.join(' '),
            }).toString(),
          ),
        })
      : await this.http.request({
          method: 'GET',
          url: tokenURL(realm, params.service, scopes),
          deadline,
          headers: basicHeaders(credentials),
        });
    if (response.status === 401 || response.status === 403) {
      await response.body.dump();
      throw new ImageError('EAUTH', `${realm.host} refused ${describeCredentials(credentials, this.host)}`);
    }
    if (response.status !== 200) {
      await response.body.dump();
      throw new ImageError('EAUTH', `token server ${realm.host} answered ${response.status}`);
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      body = (await response.body.json()) as typeof body;
    } catch {
      throw new ImageError('EAUTH', `token server ${realm.host} did not answer with JSON`);
    }
    const value = typeof body.token === 'string' && body.token ? body.token : body.access_token;
    if (typeof value !== 'string' || !value) throw new ImageError('EAUTH', `token server ${realm.host} sent no token`);
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    const issued = typeof body.issued_at === 'string' ? Date.parse(body.issued_at) : NaN;
    const start = Number.isFinite(issued) ? Math.min(issued, Date.now()) : Date.now();
    return { value, expires: start + seconds * 1000 - EXPIRY_MARGIN_MS };
  }
}

function tokenURL(realm: URL, service: string | undefined, scopes: readonly string[]): URL {
  const url = new URL(realm);
  if (service) url.searchParams.set('service', service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  return url;
}

function basicHeader(credentials: Credentials | undefined): string | undefined {
  if (!credentials || credentials.identityToken) return undefined;
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

function basicHeaders(credentials: Credentials | undefined): Record<string, string> {
  const header = basicHeader(credentials);
  return header ? { authorization: header } : {};
}

/** "the credentials of user alice (from --creds)", or "anonymous access (no credentials for HOST …)". */
export function describeCredentials(credentials: Credentials | undefined, host: string): string {
  if (!credentials) return `anonymous access (no credentials for ${host} from --creds, oci login or docker login)`;
  const who = credentials.identityToken ? 'an identity token' : `user ${credentials.username}`;
  return `the credentials of ${who} (from ${credentials.source})`;
}
