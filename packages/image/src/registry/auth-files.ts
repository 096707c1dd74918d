/**
 * The files registry credentials live in, where podman, skopeo and buildah (containers/image's
 * pkg/docker/config) and Docker keep them, searched in containers/image's order:
 *
 *  1. the auth file `oci login` writes: `--authfile FILE` or `$REGISTRY_AUTH_FILE` (then it is
 *     the only file read, as containers/image does since 5.25), else
 *     `$XDG_RUNTIME_DIR/containers/auth.json`, else `/run/containers/UID/auth.json` (root's
 *     choice when XDG_RUNTIME_DIR is unset);
 *  2. `$XDG_CONFIG_HOME/containers/auth.json` (`~/.config/containers/auth.json`);
 *  3. Docker's `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`;
 *  4. the legacy `~/.dockercfg` (a bare map of registry to entry).
 *
 * All share one format: `{"auths": {KEY: {"auth": base64("user:password")}}, "credHelpers":
 * {REGISTRY: NAME}}`. A KEY is a registry (`quay.io`, `docker.io`) or a namespace in one
 * (`quay.io/team`, `quay.io/team/app`), or a URL as Docker writes them
 * (`https://index.docker.io/v1/`). Docker's own file may also name a `credsStore` helper.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { ImageError } from '../errors.js';
import { DEFAULT_REGISTRY } from '../reference.js';

export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

export interface AuthFileContent {
  auths: Record<string, AuthEntry>;
  credHelpers: Record<string, string>;
  /** Docker's default helper (its own config.json only; containers/image ignores it). */
  credsStore?: string;
  /** Keys oci does not know, kept as they are when the file is rewritten. */
  other: Record<string, unknown>;
}

export type AuthFileKind = 'containers' | 'docker' | 'legacy';

export interface AuthFile {
  path: string;
  kind: AuthFileKind;
}

export interface AuthFileOptions {
  /** Where HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, DOCKER_CONFIG and REGISTRY_AUTH_FILE come from. */
  env?: NodeJS.ProcessEnv;
  /** The auth file to read and write instead of the default ones (`--authfile`). */
  authFile?: string;
}

/** The file `oci login` writes and `oci logout` edits. */
export function primaryAuthFile({ env = process.env, authFile }: AuthFileOptions = {}, uid = process.getuid?.() ?? 0): string {
  const chosen = authFile || env.REGISTRY_AUTH_FILE;
  if (chosen) return path.resolve(chosen);
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  return `/run/containers/${uid}/auth.json`;
}

/** Every file credentials are read from, in the order they are searched. */
export function authFiles(options: AuthFileOptions = {}, uid?: number): AuthFile[] {
  const { env = process.env } = options;
  const primary: AuthFile = { path: primaryAuthFile(options, uid), kind: 'containers' };
  if (options.authFile || env.REGISTRY_AUTH_FILE) return [primary];
  const home = env.HOME || homedir();
  return [
    primary,
    { path: path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'containers', 'auth.json'), kind: 'containers' },
    { path: path.join(env.DOCKER_CONFIG || path.join(home, '.docker'), 'config.json'), kind: 'docker' },
    { path: path.join(home, '.dockercfg'), kind: 'legacy' },
  ];
}

/** A file's content; an absent file is empty. EAUTH, naming the file and the key, when it is not in the format above. */
export async function readAuthFile(file: AuthFile): Promise<AuthFileContent> {
  let text: string;
  try {
    text = await readFile(file.path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { auths: {}, credHelpers: {}, other: {} };
    throw new ImageError('EAUTH', `cannot read ${file.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ImageError('EAUTH', `${file.path} is not valid JSON: ${(error as Error).message}`);
  }
  const bad = (what: string) => new ImageError('EAUTH', `${file.path}: ${what}`);
  if (!isObject(parsed)) throw bad('expected a JSON object');
  if (file.kind === 'legacy') return { auths: entries(parsed, '', bad), credHelpers: {}, other: {} };
  const { auths = {}, credHelpers = {}, credsStore, ...other } = parsed;
  if (!isObject(auths)) throw bad('"auths" must be an object of registry entries');
  if (!isObject(credHelpers) || Object.values(credHelpers).some((name) => typeof name !== 'string'))
    throw bad('"credHelpers" must map registries to helper names');
  if (credsStore !== undefined && typeof credsStore !== 'string') throw bad('"credsStore" must be a helper name');
  return {
    auths: entries(auths, 'auths.', bad),
    credHelpers: credHelpers as Record<string, string>,
    ...(file.kind === 'docker' && credsStore && { credsStore }),
    other: { ...other, ...(file.kind !== 'docker' && credsStore !== undefined && { credsStore }) },
  };
}

function entries(auths: Record<string, unknown>, prefix: string, bad: (what: string) => ImageError): Record<string, AuthEntry> {
  for (const [key, entry] of Object.entries(auths)) {
    if (!isObject(entry)) throw bad(`${prefix}${key} must be an object like {"auth": "…"}`);
    for (const field of ['auth', 'username', 'password', 'identitytoken'] as const) {
      if (entry[field] !== undefined && typeof entry[field] !== 'string') throw bad(`${prefix}${key}.${field} must be a string`);
    }
  }
  return auths as Record<string, AuthEntry>;
}

/**
 * Changes a containers auth file under `edit` and writes it back whole, atomically (a new file
 * renamed over the old, mode 0600 in a 0700 directory, as podman writes it). `edit` returns
 * false to leave the file untouched.
 */
export async function editAuthFile(file: string, edit: (content: AuthFileContent) => boolean | Promise<boolean>): Promise<void> {
  const content = await readAuthFile({ path: file, kind: 'containers' });
  if (!(await edit(content))) return;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const { auths, credHelpers, other } = content;
  const json = { ...other, auths, ...(Object.keys(credHelpers).length > 0 && { credHelpers }) };
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(json, null, '\t')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * The keys an auths map may hold credentials for `repository` of `registry` under, the most
 * specific first: `host/ns/app`, `host/ns`, `host`.
 */
export function authKeys(registry: string, repository?: string): string[] {
  const parts = repository ? repository.split('/') : [];
  return parts.map((_, i) => `${registry}/${parts.slice(0, parts.length - i).join('/')}`).concat(registry);
}

/** The registry (or namespace) a key names, whatever form it was written in: `https://index.docker.io/v1/` is `docker.io`. */
export function normalizeAuthKey(key: string): string {
  const withoutScheme = key.replace(/^[a-z]+:\/\//i, '');
  const schemed = withoutScheme !== key;
  // Docker writes URLs whose path is an API version, not a namespace.
  const name = schemed ? withoutScheme.split('/')[0]! : withoutScheme.replace(/\/+$/, '');
  const [host, ...rest] = name.split('/');
  return [canonicalRegistry(host!), ...rest].join('/');
}

/** Docker Hub's names for itself, as one. */
export function canonicalRegistry(host: string): string {
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DEFAULT_REGISTRY : host;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
