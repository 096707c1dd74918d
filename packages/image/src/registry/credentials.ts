/**
 * Credentials for a registry, found as podman, skopeo (containers/image) and Docker find them:
 * `--creds user:pass` for the registry itself; else the auth files in auth-files.ts's order,
 * the first that has some winning. In each file: a `credHelpers` entry for the registry (the
 * program `docker-credential-NAME`, asked with `get`), then an `auths` entry (base64 `auth`, or
 * `username`/`password`, or `identitytoken`), the most specific key first, then, in Docker's
 * file only, its `credsStore` helper.
 * Each result says where it came from, so that a refusal can name the credentials tried.
 */
import { ImageError } from '../errors.js';
import { DEFAULT_REGISTRY } from '../reference.js';
import { type AuthEntry, type AuthFile, type AuthFileOptions, authFiles, authKeys, canonicalRegistry, normalizeAuthKey, readAuthFile } from './auth-files.js';

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token (Docker's `identitytoken`), used instead of the password. */
  identityToken?: string;
  /** Where they came from: `--creds`, `/run/containers/0/auth.json`, `docker-credential-pass`. */
  source: string;
}

/** The server key Docker uses for Docker Hub in config.json and with helpers. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/** `user:password` as given to --creds. */
export function parseCreds(text: string): Credentials {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new ImageError('EAUTH', '--creds must be USER:PASSWORD');
  return { username: text.slice(0, colon), password: text.slice(colon + 1), source: '--creds' };
}

/**
 * Credentials for `repository` in `registry` (a registry or mirror host[:port]) from the auth
 * files, if any. Without a repository, only entries for the whole registry count.
 */
export async function findCredentials(registry: string, repository: string | undefined, options: AuthFileOptions = {}): Promise<Credentials | undefined> {
  const host = canonicalRegistry(registry);
  for (const file of authFiles(options)) {
    const found = await credentialsInFile(file, host, repository, options.env ?? process.env);
    if (found) return found;
  }
  return undefined;
}

async function credentialsInFile(file: AuthFile, registry: string, repository: string | undefined, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const content = await readAuthFile(file);
  const helper = Object.entries(content.credHelpers).find(([key]) => normalizeAuthKey(key) === registry)?.[1];
  if (helper) return getFromHelper(helper, helperServer(file, registry), env);
  const normalized = new Map(Object.entries(content.auths).map(([key, entry]) => [normalizeAuthKey(key), { key, entry }] as const));
  for (const wanted of authKeys(registry, repository)) {
    // A key as written wins over one that only normalises to it (podman prefers exact matches).
    const found = Object.hasOwn(content.auths, wanted) ? { key: wanted, entry: content.auths[wanted]! } : normalized.get(wanted);
    if (found && (found.entry.auth || found.entry.username || found.entry.identitytoken)) return decodeEntry(found.entry, found.key, file.path);
  }
  if (content.credsStore) return getFromHelper(content.credsStore, helperServer(file, registry), env);
  return undefined;
}

function decodeEntry(entry: AuthEntry, key: string, file: string): Credentials {
  let { username = '', password = '' } = entry;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new ImageError('EAUTH', `${file}: the auth entry for ${key} is not base64 of user:password`);
    [username, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
  }
  return { username, password, ...(entry.identitytoken && { identityToken: entry.identitytoken }), source: file };
}

/** The name a helper knows a registry by: Docker's URL for Docker Hub in Docker's files, the host elsewhere (containers/image). */
function helperServer(file: AuthFile, registry: string): string {
  return file.kind === 'docker' && registry === DEFAULT_REGISTRY ? DOCKER_HUB_KEY : registry;
}

/** Asks `docker-credential-NAME get`; undefined when it has none for the server. */
async function getFromHelper(name: string, server: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  const answer = await runHelper(name, 'get', server, env);
  if (answer === undefined) return undefined;
  try {
    const { Username, Secret } = JSON.parse(answer) as { Username?: string; Secret?: string };
    if (typeof Secret !== 'string') throw new Error('no Secret');
    // Docker's convention: the user `<token>` means Secret is an identity (refresh) token.
    return Username === '<token>'
      ? { username: '', password: '', identityToken: Secret, source: program }
      : { username: Username ?? '', password: Secret, source: program };
  } catch {
    throw new ImageError('EAUTH', `credential helper ${program} did not answer with {"Username","Secret"}`);
  }
}

/** Stores credentials with `docker-credential-NAME store`. */
export async function storeInHelper(
  name: string,
  server: string,
  credentials: { username: string; password: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  await runHelper(name, 'store', JSON.stringify({ ServerURL: server, Username: credentials.username, Secret: credentials.password }), env);
}

/** Removes credentials with `docker-credential-NAME erase`; false when the helper had none. */
export async function eraseFromHelper(name: string, server: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  return (await runHelper(name, 'erase', server, env)) !== undefined;
}

/**
 * Runs `docker-credential-NAME ACTION` with `input` on stdin (the credential helper protocol):
 * its output, or undefined when it says it has no credentials for the server.
 */
async function runHelper(name: string, action: 'get' | 'store' | 'erase', input: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const program = `docker-credential-${name}`;
  // Loaded here: node:child_process (and the cluster and dgram modules it brings) costs every
  // pull a few milliseconds, and most never run a credential helper.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => reject(new ImageError('EAUTH', `cannot run credential helper ${program}: ${error.message}`)));
    child.on('close', (status) => {
      if (status === 0) return resolve(stdout);
      const said = (stdout || stderr).trim();
      if (/credentials not found/i.test(said)) return resolve(undefined);
      reject(new ImageError('EAUTH', `credential helper ${program} failed (${action}): ${said.split('\n')[0] || `exit ${status}`}`));
    });
    // A helper may answer without reading its input: the pipe closing early is no error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
