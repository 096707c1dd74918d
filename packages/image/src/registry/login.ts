/**
 * `oci login` and `oci logout`: credentials are checked against the registry (its API root,
 * through its token or Basic scheme) before they are stored, and stored where podman and skopeo
 * keep theirs (auth-files.ts's first file), so that each reads what the other wrote. A key is a
 * registry or a namespace in one (`quay.io/team`): a pull from that namespace prefers it.
 */
import { ImageError } from '../errors.js';
import { authFiles, editAuthFile, normalizeAuthKey, primaryAuthFile, readAuthFile } from './auth-files.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { type Credentials, eraseFromHelper, findCredentials, storeInHelper } from './credentials.js';

export interface LoginTarget {
  /** The key credentials are stored under: `quay.io`, `quay.io/team`, `docker.io`. */
  key: string;
  /** The registry host[:port] it belongs to. */
  registry: string;
  /** The namespace within the registry, if the key names one. */
  namespace?: string;
}

/**
 * What `oci login ARG` logs in to: a registry (`quay.io`, `localhost:5000`, Docker's
 * `https://index.docker.io/v1/`) or a namespace in one (`quay.io/team/app`), never a tag or digest.
 */
export function parseLoginTarget(input: string): LoginTarget {
  const key = normalizeAuthKey(input.trim());
  const [registry, ...namespace] = key.split('/');
  const valid =
    /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?$|^\[[0-9a-f:.]+\](:\d+)?$/i.test(registry ?? '') &&
    namespace.every((part) => /^[a-z0-9]+([._-][a-z0-9]+)*$/.test(part));
  if (!valid) throw new ImageError('EREFERENCE', `'${input}' is not a registry (host[:port]) or a namespace in one (host/team), without a tag or digest`);
  return { key, registry: registry!, ...(namespace.length > 0 && { namespace: namespace.join('/') }) };
}

/** The credentials a login target already has (oci login without --username checks them), if any. */
export function storedCredentials(target: LoginTarget, options: RegistryOptions = {}): Promise<Credentials | undefined> {
  return findCredentials(target.registry, target.namespace, options);
}

/** Resolves when the registry accepts `credentials`; EAUTH when it refuses them. */
export async function checkCredentials(target: LoginTarget, credentials: Credentials, options: RegistryOptions = {}): Promise<void> {
  const client = new RegistryClient(target.registry, { ...options, credentials });
  try {
    await client.ping();
  } finally {
    await client.close();
  }
}

/**
 * Checks the credentials, then stores them in the auth file (or in the credential helper it names
 * for the registry). Returns where they went.
 */
export async function login(target: LoginTarget, credentials: { username: string; password: string }, options: RegistryOptions = {}): Promise<string> {
  await checkCredentials(target, { ...credentials, source: 'oci login' }, options);
  const file = primaryAuthFile(options);
  let stored = file;
  await editAuthFile(file, async (content) => {
    const helper = target.namespace === undefined ? content.credHelpers[target.registry] : undefined;
    if (helper) {
      await storeInHelper(helper, target.registry, credentials, options.env);
      stored = `docker-credential-${helper}`;
      return false;
    }
    content.auths[target.key] = { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') };
    return true;
  });
  return stored;
}

/**
 * Removes the credentials stored for the target in the auth file (and its credential helper's).
 * ENOTFOUND when there were none there, saying where others are if another file holds some.
 */
export async function logout(target: LoginTarget, options: RegistryOptions = {}): Promise<void> {
  const file = primaryAuthFile(options);
  let found = false;
  await editAuthFile(file, async (content) => {
    const helper = target.namespace === undefined ? content.credHelpers[target.registry] : undefined;
    if (helper) found = await eraseFromHelper(helper, target.registry, options.env);
    for (const key of Object.keys(content.auths).filter((key) => normalizeAuthKey(key) === target.key)) {
      delete content.auths[key];
      found = true;
    }
    return found;
  });
  if (found) return;
  for (const other of authFiles(options).slice(1)) {
    const content = await readAuthFile(other);
    if (Object.keys(content.auths).some((key) => normalizeAuthKey(key) === target.key)) {
      throw new ImageError(
        'ENOTFOUND',
        `not logged in to ${target.key} in ${file}; ${other.path} holds credentials for it${other.kind === 'docker' ? ' (docker logout removes them)' : ''}`,
      );
    }
  }
  throw new ImageError('ENOTFOUND', `not logged in to ${target.key}`);
}

/** Empties the auth file's credentials (`oci logout --all`), helpers' entries left to the helpers. Returns the file. */
export async function logoutAll(options: RegistryOptions = {}): Promise<string> {
  const file = primaryAuthFile(options);
  await editAuthFile(file, (content) => {
    content.auths = {};
    return true;
  });
  return file;
}
