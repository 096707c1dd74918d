/**
 * Registry authentication against Debian's docker-registry: `auth: token` with a token server
 * of the test's own, and `auth: htpasswd`; credentials from --creds, ~/.docker/config.json and a
 * credential helper; refusals that say which credentials were tried.
 */

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ImageError, type PullOptions, pull, push, RegistryClient, Store } from '@oci/image';
import test from 'ava';
import { busyboxImage } from './harness/busybox.js';
import { writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { snapshotStore } from './harness/store.js';
import { tempDir } from './harness/tmp.js';
import { startTokenServer, type TokenServer } from './harness/token-server.js';

let tokens: TokenServer;
let tokenRegistry: Registry;
let basicRegistry: Registry;
let cleanup: () => void;

const users = { alice: 'wonderland' };
const base: PullOptions = { hosts: { mirrors: new Map(), insecure: new Set() }, retryDelay: 10, env: { HOME: '/nonexistent' } };

test.before(async () => {
  tokens = await startTokenServer({ users });
  tokenRegistry = await startRegistry({ auth: { token: tokens.config } });
  basicRegistry = await startRegistry({ auth: { htpasswd: { users } } });
  const layout = tempDir('layout');
  cleanup = layout.remove;
  writeLayout(layout.dir, { latest: await busyboxImage() });
  const store = await Store.open(layout.dir);
  // Seeding is itself a push with credentials, through each scheme.
  await push(store, 'latest', `${tokenRegistry.host}/private/busybox:1`, { ...base, creds: 'alice:wonderland' });
  await push(store, 'latest', `${basicRegistry.host}/private/busybox:1`, { ...base, creds: 'alice:wonderland' });
});
test.after.always(async () => {
  await tokenRegistry?.stop();
  await basicRegistry?.stop();
  await tokens?.stop();
  cleanup?.();
});

async function emptyStore(t: { teardown(fn: () => void): void }) {
  const { dir, remove } = tempDir('store');
  t.teardown(remove);
  return { dir, store: await Store.open(dir, { create: true }) };
}

/** A HOME whose ~/.docker/config.json is `config`, and a PATH with `helpers` (name → script). */
function dockerHome(t: { teardown(fn: () => void): void }, config: object, helpers: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { dir, remove } = tempDir('home');
  t.teardown(remove);
  mkdirSync(path.join(dir, '.docker'));
  writeFileSync(path.join(dir, '.docker', 'config.json'), JSON.stringify(config));
  mkdirSync(path.join(dir, 'bin'));
  for (const [name, script] of Object.entries(helpers)) {
    const file = path.join(dir, 'bin', `docker-credential-${name}`);
    writeFileSync(file, `#!/bin/sh\n${script}\n`);
    chmodSync(file, 0o755);
  }
  return { HOME: dir, PATH: `${path.join(dir, 'bin')}:${process.env.PATH}` };
}

async function refused(t: import('ava').ExecutionContext, ref: string, options: PullOptions): Promise<ImageError> {
  const { dir, store } = await emptyStore(t);
  const before = snapshotStore(dir);
  const error = await t.throwsAsync(pull(store, ref, { ...base, ...options }), { instanceOf: ImageError });
  t.is(error?.code, 'EAUTH');
  t.deepEqual(snapshotStore(dir), before);
  return error!;
}

test.serial('token auth: one token for the whole pull, scoped to the repository', async (t) => {
  const { store } = await emptyStore(t);
  const seen = tokens.requests.length;
  const result = await pull(store, `${tokenRegistry.host}/private/busybox:1`, { ...base, creds: 'alice:wonderland' });
  t.true(await store.hasBlob(result.manifest.layers[0]!.digest));
  t.deepEqual(tokens.requests.slice(seen), [{ user: 'alice', scopes: ['repository:private/busybox:pull'] }]);
});

test.serial('token auth with credentials from ~/.docker/config.json', async (t) => {
  const { store } = await emptyStore(t);
  const env = dockerHome(t, { auths: { [tokenRegistry.host]: { auth: Buffer.from('alice:wonderland').toString('base64') } } });
  await pull(store, `${tokenRegistry.host}/private/busybox:1`, { ...base, env });
  t.is(tokens.requests.at(-1)?.user, 'alice');
});

test('token auth refusing bad credentials names them and where they came from', async (t) => {
  const error = await refused(t, `${tokenRegistry.host}/private/busybox:1`, { creds: 'alice:nope' });
  t.is(error.message, `${new URL(tokens.config.realm).host} refused the credentials of user alice (from --creds)`);
});

test('token auth without credentials for a private repository says none were found', async (t) => {
  const error = await refused(t, `${tokenRegistry.host}/private/busybox:1`, {});
  t.is(
    error.message,
    `${tokenRegistry.host} refused anonymous access (no credentials for ${tokenRegistry.host} from --creds, oci login or docker login) for private/busybox (UNAUTHORIZED: authentication required)`,
  );
});

test('basic auth (htpasswd) with --creds', async (t) => {
  const { store } = await emptyStore(t);
  const result = await pull(store, `${basicRegistry.host}/private/busybox:1`, { ...base, creds: 'alice:wonderland' });
  t.true(await store.hasBlob(result.manifest.config.digest));
});

test('basic auth with credentials from a credential helper', async (t) => {
  const { store } = await emptyStore(t);
  const env = dockerHome(
    t,
    { credHelpers: { [basicRegistry.host]: 'oci-test' } },
    { 'oci-test': `read server; [ "$server" = "${basicRegistry.host}" ] && echo '{"ServerURL":"x","Username":"alice","Secret":"wonderland"}'` },
  );
  const result = await pull(store, `${basicRegistry.host}/private/busybox:1`, { ...base, env });
  t.true(await store.hasBlob(result.manifest.config.digest));
});

test("basic auth refusing a credential helper's credentials names the helper", async (t) => {
  const env = dockerHome(t, { credsStore: 'oci-test' }, { 'oci-test': `echo '{"ServerURL":"x","Username":"bob","Secret":"builder"}'` });
  const error = await refused(t, `${basicRegistry.host}/private/busybox:1`, { env });
  t.regex(error.message, new RegExp(`^${basicRegistry.host} refused the credentials of user bob \\(from docker-credential-oci-test\\) for private/busybox`));
});

test('basic auth without credentials says none were found', async (t) => {
  const error = await refused(t, `${basicRegistry.host}/private/busybox:1`, {});
  t.regex(error.message, new RegExp(`refused anonymous access \\(no credentials for ${basicRegistry.host} from --creds, oci login or docker login\\)`));
});

test.serial('a token is reused until it expires, then fetched again', async (t) => {
  const short = await startTokenServer({ users, expiresIn: 11 });
  const registry = await startRegistry({ auth: { token: short.config } });
  t.teardown(async () => {
    await registry.stop();
    await short.stop();
  });
  const client = new RegistryClient(registry.host, { ...base, creds: 'alice:wonderland' });
  t.teardown(() => client.close());
  const ask = async () => (await client.request({ method: 'GET', repository: 'private/busybox', path: 'tags/list', ok: () => true })).body.dump();
  await ask();
  await ask();
  t.is(short.requests.length, 1, 'reused while valid');
  // 11 s less the 10 s margin: the token is stale after 1 s.
  await new Promise((resolve) => setTimeout(resolve, 1200));
  await ask();
  t.is(short.requests.length, 2, 'fetched again once expired');
});
