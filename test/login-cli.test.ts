/**
 * `oci login` and `oci logout` against the real registry (token and htpasswd schemes), with
 * skopeo as the peer: each reads the credentials the other stored, in the file given by
 * REGISTRY_AUTH_FILE or the default $XDG_RUNTIME_DIR/containers/auth.json; `oci pull` finds
 * them, in containers/image's order of files.
 */

import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { push, Store } from '@oci/image';
import test from 'ava';
import { busyboxImage } from './harness/busybox.js';
import { ociBin } from './harness/cli.js';
import { writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { run } from './harness/run.js';
import { tempDir } from './harness/tmp.js';
import { startTokenServer, type TokenServer } from './harness/token-server.js';

let tokens: TokenServer;
let registry: Registry;
let basic: Registry;
let cleanup: () => void;

const users = { alice: 'wonderland' };
const IMAGE = 'private/busybox:1';

test.before(async () => {
  tokens = await startTokenServer({ users });
  registry = await startRegistry({ auth: { token: tokens.config } });
  basic = await startRegistry({ auth: { htpasswd: { users } } });
  const layout = tempDir('layout');
  cleanup = layout.remove;
  writeLayout(layout.dir, { latest: await busyboxImage() });
  const store = await Store.open(layout.dir);
  const options = { hosts: { mirrors: new Map(), insecure: new Set<string>() }, creds: 'alice:wonderland', env: { HOME: '/nonexistent' } };
  for (const host of [registry.host, basic.host]) await push(store, 'latest', `${host}/${IMAGE}`, options);
});
test.after.always(async () => {
  await registry?.stop();
  await basic?.stop();
  await tokens?.stop();
  cleanup?.();
});

/** An environment of its own: HOME, XDG_RUNTIME_DIR and XDG_CONFIG_HOME in a temp dir, and `extra`. */
function home(t: { teardown(fn: () => void): void }, extra: NodeJS.ProcessEnv = {}) {
  const { dir, remove } = tempDir('login');
  t.teardown(remove);
  for (const sub of ['home', 'run', 'config']) mkdirSync(path.join(dir, sub));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: path.join(dir, 'home'),
    XDG_RUNTIME_DIR: path.join(dir, 'run'),
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    OCI_REGISTRY_MIRRORS: '',
    ...extra,
  };
  return { dir, env, authFile: path.join(dir, 'run', 'containers', 'auth.json') };
}

const oci = (args: string[], env: NodeJS.ProcessEnv, input?: string) => run(ociBin, args, { env, input });
const skopeo = (args: string[], env: NodeJS.ProcessEnv, input?: string) => run('skopeo', args, { env, input });
const skopeoInspect = (host: string, env: NodeJS.ProcessEnv, extra: string[] = []) =>
  skopeo(['inspect', '--tls-verify=false', ...extra, `docker://${host}/${IMAGE}`], env);
const basicAuth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

async function pull(t: { teardown(fn: () => void): void }, host: string, env: NodeJS.ProcessEnv) {
  const { dir, remove } = tempDir('store');
  t.teardown(remove);
  return oci(['--store', dir, 'pull', `${host}/${IMAGE}`], env);
}

test.serial('oci login checks the credentials with the token server, stores them where skopeo reads them ($REGISTRY_AUTH_FILE)', async (t) => {
  const { dir, env } = home(t);
  const file = path.join(dir, 'auth.json');
  env.REGISTRY_AUTH_FILE = file;
  const seen = tokens.requests.length;
  const login = await oci(['login', '--username', 'alice', '--password-stdin', registry.host], env, 'wonderland\n');
  t.is(login.stderr, '');
  t.is(login.status, 0);
  t.is(login.stdout, 'Login Succeeded!\n');
  t.deepEqual(tokens.requests.slice(seen), [{ user: 'alice', scopes: [] }], 'one token request, for the API root');
  t.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { auths: { [registry.host]: { auth: basicAuth('alice', 'wonderland') } } });
  t.is(statSync(file).mode & 0o777, 0o600);
  const inspect = await skopeoInspect(registry.host, env);
  t.is(inspect.status, 0, inspect.stderr);
  t.is((await skopeoInspect(registry.host, env, ['--authfile', file])).status, 0);
});

test('skopeo reads what oci login wrote at the default path, and oci pull reads what skopeo login wrote', async (t) => {
  const ours = home(t);
  t.is((await oci(['login', '-u', 'alice', '--password-stdin', registry.host], ours.env, 'wonderland')).status, 0);
  t.true(existsSync(ours.authFile), '$XDG_RUNTIME_DIR/containers/auth.json');
  const inspect = await skopeoInspect(registry.host, ours.env);
  t.is(inspect.status, 0, inspect.stderr);

  const theirs = home(t);
  const login = await skopeo(['login', '--tls-verify=false', '-u', 'alice', '--password-stdin', registry.host], theirs.env, 'wonderland');
  t.is(login.status, 0, login.stderr);
  t.true(existsSync(theirs.authFile));
  const pulled = await pull(t, registry.host, theirs.env);
  t.is(pulled.status, 0, pulled.stderr);
});

test('a wrong password is refused by the registry and nothing is stored, as skopeo does', async (t) => {
  const { env, authFile } = home(t);
  const login = await oci(['login', '-u', 'alice', '--password-stdin', registry.host], env, 'nope');
  t.is(login.status, 1);
  t.is(login.stderr, `oci: login ${registry.host}: ${new URL(tokens.config.realm).host} refused the credentials of user alice (from oci login)\n`);
  t.false(existsSync(authFile));
  const peer = await skopeo(['login', '--tls-verify=false', '-u', 'alice', '--password-stdin', registry.host], env, 'nope');
  t.not(peer.status, 0);
  t.false(existsSync(authFile));
});

test('an htpasswd registry: login checks with Basic auth; a pull then uses the stored credentials', async (t) => {
  const { env } = home(t);
  t.is((await oci(['login', '-u', 'alice', '--password-stdin', basic.host], env, 'bad')).status, 1);
  const login = await oci(['login', '-u', 'alice', '--password-stdin', basic.host], env, 'wonderland');
  t.is(login.status, 0, login.stderr);
  const pulled = await pull(t, basic.host, env);
  t.is(pulled.status, 0, pulled.stderr);
  t.is((await skopeoInspect(basic.host, env)).status, 0);
});

test('oci login without a user checks the stored credentials, as podman login does', async (t) => {
  const { env, authFile } = home(t);
  t.is((await oci(['login', '-u', 'alice', '--password-stdin', registry.host], env, 'wonderland')).status, 0);
  const again = await oci(['login', registry.host], env);
  t.is(again.status, 0, again.stderr);
  t.is(again.stdout, `Already logged in to ${registry.host} (credentials from ${authFile})\n`);
  writeFileSync(authFile, JSON.stringify({ auths: { [registry.host]: { auth: basicAuth('alice', 'stale') } } }));
  const stale = await oci(['login', registry.host], env);
  t.is(stale.status, 2);
  t.is(
    stale.stderr,
    `oci: warning: ${registry.host} refused the stored credentials (from ${authFile}): give new ones\noci: login: needs --username and --password-stdin (stdin is not a terminal to ask on) (see 'oci login --help')\n`,
  );
});

test('oci logout removes what oci login stored; skopeo then has no credentials; a second logout says so', async (t) => {
  const { env, authFile } = home(t);
  t.is((await oci(['login', '-u', 'alice', '--password-stdin', registry.host], env, 'wonderland')).status, 0);
  const logout = await oci(['logout', registry.host], env);
  t.is(logout.status, 0, logout.stderr);
  t.is(logout.stdout, `Removed login credentials for ${registry.host}\n`);
  t.deepEqual(JSON.parse(readFileSync(authFile, 'utf8')), { auths: {} });
  t.not((await skopeoInspect(registry.host, env)).status, 0);
  const again = await oci(['logout', registry.host], env);
  t.is(again.status, 1);
  t.is(again.stderr, `oci: logout ${registry.host}: not logged in to ${registry.host}\n`);
  t.not((await skopeo(['logout', registry.host], env)).status, 0, 'skopeo agrees');
});

test('oci logout reads what skopeo login wrote; --all empties the file', async (t) => {
  const { env, authFile } = home(t);
  for (const host of [registry.host, basic.host])
    t.is((await skopeo(['login', '--tls-verify=false', '-u', 'alice', '--password-stdin', host], env, 'wonderland')).status, 0);
  t.is((await oci(['logout', basic.host], env)).status, 0);
  t.deepEqual(Object.keys((JSON.parse(readFileSync(authFile, 'utf8')) as { auths: object }).auths), [registry.host]);
  const all = await oci(['logout', '--all'], env);
  t.is(all.stdout, 'Removed login credentials for all registries\n');
  t.deepEqual(JSON.parse(readFileSync(authFile, 'utf8')), { auths: {} });
  t.is((await oci(['logout'], env)).status, 2, 'a registry or --all');
});

test('a login for a namespace is stored under it and used for pulls from it, by oci and skopeo', async (t) => {
  const { env, authFile } = home(t);
  const login = await oci(['login', '-u', 'alice', '--password-stdin', `${registry.host}/private`], env, 'wonderland');
  t.is(login.status, 0, login.stderr);
  t.deepEqual(Object.keys((JSON.parse(readFileSync(authFile, 'utf8')) as { auths: object }).auths), [`${registry.host}/private`]);
  const pulled = await pull(t, registry.host, env);
  t.is(pulled.status, 0, pulled.stderr);
  t.is((await skopeoInspect(registry.host, env)).status, 0);
  const tagged = await oci(['login', '-u', 'alice', '--password-stdin', `${registry.host}/private/busybox:1`], env, 'wonderland');
  t.is(tagged.status, 1);
  t.regex(tagged.stderr, /is not a registry \(host\[:port\]\) or a namespace in one \(host\/team\), without a tag or digest\n$/);
});

test("the auth file comes before Docker's config: its credentials win, as in containers/image", async (t) => {
  const { env } = home(t);
  mkdirSync(path.join(env.HOME!, '.docker'));
  writeFileSync(path.join(env.HOME!, '.docker', 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: basicAuth('alice', 'stale') } } }));
  t.is((await pull(t, registry.host, env)).status, 1, 'the stale Docker credentials are tried');
  t.is((await oci(['login', '-u', 'alice', '--password-stdin', registry.host], env, 'wonderland')).status, 0);
  const pulled = await pull(t, registry.host, env);
  t.is(pulled.status, 0, pulled.stderr);
  t.is((await skopeoInspect(registry.host, env)).status, 0, 'skopeo agrees');
});

test("Docker's config and ~/.config/containers/auth.json are read after the auth file", async (t) => {
  for (const where of ['.docker/config.json', 'config']) {
    const { env } = home(t);
    const file = where === 'config' ? path.join(env.XDG_CONFIG_HOME!, 'containers', 'auth.json') : path.join(env.HOME!, where);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ auths: { [registry.host]: { auth: basicAuth('alice', 'wonderland') } } }));
    const pulled = await pull(t, registry.host, env);
    t.is(pulled.status, 0, `${file}: ${pulled.stderr}`);
  }
});

test('oci login stores in the credential helper the auth file names for the registry', async (t) => {
  const { dir, env, authFile } = home(t);
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  const helper = path.join(bin, 'docker-credential-oci-test');
  const kept = path.join(dir, 'kept');
  writeFileSync(helper, `#!/bin/sh\ncase "$1" in store) cat > ${kept} ;; get) cat ${kept} ;; esac\n`);
  chmodSync(helper, 0o755);
  mkdirSync(path.dirname(authFile));
  writeFileSync(authFile, JSON.stringify({ credHelpers: { [registry.host]: 'oci-test' } }));
  env.PATH = `${bin}:${env.PATH}`;
  const login = await oci(['login', '-u', 'alice', '--password-stdin', registry.host], env, 'wonderland');
  t.is(login.status, 0, login.stderr);
  t.deepEqual(JSON.parse(readFileSync(kept, 'utf8')), { ServerURL: registry.host, Username: 'alice', Secret: 'wonderland' });
  t.deepEqual(JSON.parse(readFileSync(authFile, 'utf8')), { credHelpers: { [registry.host]: 'oci-test' } }, 'the file is as it was');
  const pulled = await pull(t, registry.host, env);
  t.is(pulled.status, 0, pulled.stderr);
});

test('a malformed auth file is one line naming the file and the key', async (t) => {
  const { env, authFile } = home(t);
  mkdirSync(path.dirname(authFile));
  writeFileSync(authFile, JSON.stringify({ auths: { [registry.host]: { auth: 5 } } }));
  const pulled = await pull(t, registry.host, env);
  t.is(pulled.status, 1);
  t.is(pulled.stderr, `oci: pull ${registry.host}/${IMAGE}: ${authFile}: auths.${registry.host}.auth must be a string\n`);
});

test('on a terminal, oci login asks for the user and the password', async (t) => {
  const { env, authFile } = home(t);
  // script(1) gives oci a terminal; what is written to script's stdin is typed on it.
  const typed = await run('script', ['-qec', `${ociBin} login ${registry.host}`, '/dev/null'], { env, input: 'alice\rwonderland\r' });
  t.is(typed.status, 0, typed.stdout);
  t.regex(typed.stdout, /Username: [\s\S]*Password: [\s\S]*Login Succeeded!/);
  t.deepEqual(JSON.parse(readFileSync(authFile, 'utf8')), { auths: { [registry.host]: { auth: basicAuth('alice', 'wonderland') } } });
});

test("--authfile replaces the default files for login, logout and pull, as podman's does", async (t) => {
  const { dir, env, authFile } = home(t);
  const file = path.join(dir, 'mine.json');
  const login = await oci(['login', '-u', 'alice', '--password', 'wonderland', '--authfile', file, registry.host], env);
  t.is(login.status, 0, login.stderr);
  t.is(login.stderr, 'oci: warning: a password on the command line is visible to other users: prefer --password-stdin\n');
  t.false(existsSync(authFile), 'the default file is left alone');
  const { dir: store, remove } = tempDir('store');
  t.teardown(remove);
  t.is((await oci(['--store', store, 'pull', `${registry.host}/${IMAGE}`], env)).status, 1, 'not in the default files');
  const pulled = await oci(['--store', store, 'pull', '--authfile', file, `${registry.host}/${IMAGE}`], env);
  t.is(pulled.status, 0, pulled.stderr);
  t.is((await skopeoInspect(registry.host, env, ['--authfile', file])).status, 0);
  t.is((await oci(['logout', '--authfile', file, registry.host], env)).status, 0);
  t.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { auths: {} });
});
