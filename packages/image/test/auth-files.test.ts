import test from 'ava';
import { authFiles, authKeys, normalizeAuthKey, primaryAuthFile } from '../src/registry/auth-files.js';
import { parseLoginTarget } from '../src/registry/login.js';

test("the auth file is podman's: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else /run/containers/UID/auth.json", (t) => {
  t.is(primaryAuthFile({ env: { REGISTRY_AUTH_FILE: '/x/auth.json', XDG_RUNTIME_DIR: '/run/user/0' } }), '/x/auth.json');
  t.is(primaryAuthFile({ env: { XDG_RUNTIME_DIR: '/run/user/1000' } }, 1000), '/run/user/1000/containers/auth.json');
  t.is(primaryAuthFile({ env: {} }, 0), '/run/containers/0/auth.json');
  t.is(primaryAuthFile({ env: { REGISTRY_AUTH_FILE: '/x' }, authFile: '/y' }), '/y', '--authfile wins');
});

test("credentials are searched in containers/image's order; an auth file given is the only one", (t) => {
  const env = { HOME: '/h', XDG_RUNTIME_DIR: '/r' };
  t.deepEqual(
    authFiles({ env }).map((f) => `${f.kind} ${f.path}`),
    ['containers /r/containers/auth.json', 'containers /h/.config/containers/auth.json', 'docker /h/.docker/config.json', 'legacy /h/.dockercfg'],
  );
  t.deepEqual(
    authFiles({ env: { ...env, DOCKER_CONFIG: '/d', XDG_CONFIG_HOME: '/c' } })
      .map((f) => f.path)
      .slice(1, 3),
    ['/c/containers/auth.json', '/d/config.json'],
  );
  t.deepEqual(
    authFiles({ env: { ...env, REGISTRY_AUTH_FILE: '/a.json' } }).map((f) => f.path),
    ['/a.json'],
  );
});

test('keys: the most specific namespace first; URLs as Docker writes them name the registry', (t) => {
  t.deepEqual(authKeys('quay.io', 'team/app/x'), ['quay.io/team/app/x', 'quay.io/team/app', 'quay.io/team', 'quay.io']);
  t.deepEqual(authKeys('quay.io'), ['quay.io']);
  t.is(normalizeAuthKey('https://index.docker.io/v1/'), 'docker.io');
  t.is(normalizeAuthKey('http://localhost:5000'), 'localhost:5000');
  t.is(normalizeAuthKey('quay.io/team/'), 'quay.io/team');
});

test('login targets: a registry or a namespace, never a tag or digest', (t) => {
  t.deepEqual(parseLoginTarget('localhost:5000'), { key: 'localhost:5000', registry: 'localhost:5000' });
  t.deepEqual(parseLoginTarget('quay.io/team/app'), { key: 'quay.io/team/app', registry: 'quay.io', namespace: 'team/app' });
  t.deepEqual(parseLoginTarget('https://index.docker.io/v1/'), { key: 'docker.io', registry: 'docker.io' });
  for (const bad of ['quay.io/team:1', 'quay.io/a@sha256:00', 'Quay.io/Team', '']) t.throws(() => parseLoginTarget(bad), { message: /is not a registry/ }, bad);
});
