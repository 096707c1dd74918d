/**
 * A token server for a registry started with `auth: token` (distribution's bearer token scheme):
 * it signs JWTs with a throwaway EC key whose self-signed certificate (made with openssl) is the
 * registry's rootcertbundle, and grants what it is asked for to known users (Basic auth on the
 * token request) and pull to anonymous callers when `anonymousPull`.
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:net';
import path from 'node:path';
import { tempDir } from './tmp.js';

export interface TokenServer {
  /** What startRegistry's `auth.token` needs. */
  readonly config: { realm: string; service: string; issuer: string; certFile: string };
  /** Every token request's scopes and user ('' when anonymous), in order. */
  readonly requests: { user: string; scopes: string[] }[];
  stop(): Promise<void>;
}

export interface TokenPolicy {
  users?: Readonly<Record<string, string>>;
  anonymousPull?: boolean;
  /** Seconds a token lasts. */
  expiresIn?: number;
}

const SERVICE = 'oci-test-registry';
const ISSUER = 'oci-test-issuer';

export async function startTokenServer({ users = {}, anonymousPull = false, expiresIn = 300 }: TokenPolicy = {}): Promise<TokenServer> {
  const { dir, remove } = tempDir('token');
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '2',
      '-subj',
      '/CN=oci-test-token',
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl could not make the token certificate: ${made.stderr}`);
  const key = createPrivateKey(readFileSync(keyFile));
  const certificate = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
  const requests: TokenServer['requests'] = [];

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://token');
    const scopes = url.searchParams.getAll('scope');
    const user = authenticate(request.headers.authorization, users);
    requests.push({ user: user ?? '?', scopes });
    if (user === undefined) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      const granted = (actions ?? '').split(',').filter((a) => user !== '' || (anonymousPull && a === 'pull'));
      return type === 'repository' && name && granted.length > 0 ? [{ type, name, actions: granted }] : [];
    });
    const claims = {
      iss: ISSUER,
      sub: user,
      aud: url.searchParams.get('service'),
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    };
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certificate] };
    const signed = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signed), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${signed}.${base64url(signature)}`;
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: expiresIn, issued_at: new Date().toISOString() }));
  });
  const port = await listen(server);
  return {
    config: { realm: `http://127.0.0.1:${port}/token`, service: SERVICE, issuer: ISSUER, certFile },
    requests,
    async stop() {
      await new Promise((resolve) => server.close(resolve));
      remove();
    },
  };
}

/** The user named by Basic credentials, '' for none, undefined for wrong ones. */
function authenticate(header: string | undefined, users: Readonly<Record<string, string>>): string | undefined {
  if (!header) return '';
  const [scheme, value] = header.split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !value) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const [user, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
  return Object.hasOwn(users, user) && users[user] === password ? user : undefined;
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}
