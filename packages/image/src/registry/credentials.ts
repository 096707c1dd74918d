/**
 * Credentials for a registry, found as Docker finds them: `--creds user:pass`; else
 * `~/.docker/config.json` (or `$DOCKER_CONFIG/config.json`): a `credHelpers` entry for the host,
 * an `auths` entry (base64 `auth`, or `username`/`password`, or `identitytoken`), or the
 * `credsStore` helper. A helper is the program `docker-credential-NAME`, asked with `get`.
 * Each result says where it came from, so that a refusal can name the credentials tried.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { ImageError } from '../errors.js';
import { DEFAULT_REGISTRY } from '../reference.js';

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token (Docker's `identitytoken`), used instead of the password. */
  identityToken?: string;
  /** Where they came from: `--creds`, `/root/.docker/config.json`, `docker-credential-pass`. */
  source: string;
}

/** The server key Docker uses for Docker Hub in config.json and with helpers. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** `user:password` as given to --creds. */
export function parseCreds(text: string): Credentials {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new ImageError('EAUTH', '--creds must be USER:PASSWORD');
  return { username: text.slice(0, colon), password: text.slice(colon + 1), source: '--creds' };
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.DOCKER_CONFIG || path.join(env.HOME || homedir(), '.docker'), 'config.json');
}

/** Credentials for `host` (a registry or mirror host[:port]) from Docker's config, if any. */
export async function dockerCredentials(host: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const file = dockerConfigPath(env);
  let config: DockerConfig;
  try {
    config = JSON.parse(await readFile(file, 'utf8')) as DockerConfig;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ImageError('EAUTH', `cannot read ${file}: ${(error as Error).message}`);
  }
  const keys = hostKeys(host);
  const helper = keys.map((k) => config.credHelpers?.[k]).find(Boolean);
  if (helper) return runHelper(helper, serverKey(host), env);
  const entry = Object.entries(config.auths ?? {}).find(([key]) => keys.includes(normalizeKey(key)))?.[1];
  if (entry?.auth || entry?.username || entry?.identitytoken) {
    let { username = '', password = '' } = entry;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new ImageError('EAUTH', `${file}: the auth entry for ${host} is not base64 of user:password`);
      [username, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    }
    return { username, password, ...(entry.identitytoken && { identityToken: entry.identitytoken }), source: file };
  }
  if (config.credsStore) return runHelper(config.credsStore, serverKey(host), env);
  return undefined;
}

// The names a host may go by in config.json: `ghcr.io`, `https://ghcr.io`, Docker Hub's v1 URL.
function hostKeys(host: string): string[] {
  return host === DEFAULT_REGISTRY || host === 'registry-1.docker.io' || host === 'index.docker.io'
    ? [DEFAULT_REGISTRY, 'index.docker.io', 'registry-1.docker.io']
    : [host];
}

function normalizeKey(key: string): string {
  const host = /^[a-z]+:\/\//i.test(key) ? new URL(key).host : key.split('/')[0]!;
  return host === 'index.docker.io' ? DEFAULT_REGISTRY : host;
}

function serverKey(host: string): string {
  return hostKeys(host)[0] === DEFAULT_REGISTRY ? DOCKER_HUB_KEY : host;
}

/** Runs `docker-credential-NAME get` with the server on stdin (the credential helper protocol). */
async function runHelper(name: string, server: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  // Loaded here: node:child_process (and the cluster and dgram modules it brings) costs every
  // pull a few milliseconds, and most never run a credential helper.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => reject(new ImageError('EAUTH', `cannot run credential helper ${program}: ${error.message}`)));
    child.on('close', (status) => {
      const said = (stdout || stderr).trim();
      if (status !== 0) {
        if (/credentials not found/i.test(said)) return resolve(undefined);
        return reject(new ImageError('EAUTH', `credential helper ${program} failed: ${said.split('\n')[0] || `exit ${status}`}`));
      }
      try {
        const { Username, Secret } = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (typeof Secret !== 'string') throw new Error('no Secret');
        // Docker's convention: the user `<token>` means Secret is an identity (refresh) token.
        resolve(
          Username === '<token>'
            ? { username: '', password: '', identityToken: Secret, source: program }
            : { username: Username ?? '', password: Secret, source: program },
        );
      } catch {
        reject(new ImageError('EAUTH', `credential helper ${program} did not answer with {"Username","Secret"}`));
      }
    });
    // A helper may answer without reading its input: the pipe closing early is no error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(server);
  });
}
