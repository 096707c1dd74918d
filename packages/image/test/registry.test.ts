import test from 'ava';
import { parseManifest } from '../src/documents.js';
import { ImageError, MediaType, parseMirrors } from '../src/index.js';
import { parseChallenges } from '../src/registry/auth.js';
import { parseCreds } from '../src/registry/credentials.js';
import { endpointsFor, type HostsConfig } from '../src/registry/hosts.js';

const none = (): HostsConfig => ({ mirrors: new Map(), insecure: new Set() });

test('OCI_REGISTRY_MIRRORS lists mirrors per registry, in order', (t) => {
  const mirrors = parseMirrors('docker.io=http://127.0.0.1:5000,quay.io=https://m.example,docker.io=https://second.example/prefix');
  t.deepEqual([...mirrors.keys()], ['docker.io', 'quay.io']);
  t.deepEqual(mirrors.get('docker.io')!.map(String), ['http://127.0.0.1:5000/', 'https://second.example/prefix']);
  t.is(t.throws(() => parseMirrors('docker.io'), { instanceOf: ImageError })?.message, "OCI_REGISTRY_MIRRORS: 'docker.io' is not REGISTRY=URL");
  t.regex(t.throws(() => parseMirrors('docker.io=ftp://x'))!.message, /must be http or https/);
});

test('endpoints: mirrors first, Docker Hub by its API host, plain HTTP only for loopback or insecure', (t) => {
  const hosts: HostsConfig = { mirrors: parseMirrors('docker.io=http://127.0.0.1:5000'), insecure: new Set(['reg.example:5000']) };
  const hub = endpointsFor('docker.io', hosts);
  t.deepEqual(
    hub.map((e) => [e.url.href, e.mirror, e.plainHttpAllowed, e.skipVerify]),
    [
      ['http://127.0.0.1:5000/', true, true, false],
      ['https://registry-1.docker.io/', false, false, false],
    ],
  );
  t.deepEqual(
    endpointsFor('docker.io', hosts, { useMirrors: false }).map((e) => e.url.host),
    ['registry-1.docker.io'],
  );
  t.deepEqual(
    endpointsFor('localhost:5000', none()).map((e) => [e.plainHttpAllowed, e.skipVerify]),
    [[true, false]],
    'loopback: plain HTTP, but HTTPS is verified',
  );
  t.deepEqual(
    endpointsFor('reg.example:5000', hosts).map((e) => [e.plainHttpAllowed, e.skipVerify]),
    [[true, true]],
    'named insecure',
  );
  t.deepEqual(
    endpointsFor('ghcr.io', none(), { insecure: true }).map((e) => [e.plainHttpAllowed, e.skipVerify]),
    [[true, true]],
    '--insecure',
  );
  t.deepEqual(
    endpointsFor('ghcr.io', none()).map((e) => [e.plainHttpAllowed, e.skipVerify]),
    [[false, false]],
  );
  const plainMirror: HostsConfig = { mirrors: parseMirrors('docker.io=http://mirror.example'), insecure: new Set() };
  t.is(
    t.throws(() => endpointsFor('docker.io', plainMirror))?.message,
    'refusing plain HTTP to mirror mirror.example (not a loopback address): use --insecure to allow it',
  );
  t.is(endpointsFor('docker.io', plainMirror, { insecure: true })[0]!.url.host, 'mirror.example');
});

test('WWW-Authenticate challenges parse, quoted commas included', (t) => {
  t.deepEqual(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
  ]);
  t.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
});

test('--creds splits at the first colon', (t) => {
  t.like(parseCreds('alice:pa:ss'), { username: 'alice', password: 'pa:ss', source: '--creds' });
  t.throws(() => parseCreds('alice'), { message: '--creds must be USER:PASSWORD' });
});

test('a manifest must be what its Content-Type says, and schema 1 is refused by name', (t) => {
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: `sha256:${'a'.repeat(64)}`, size: 2 },
      layers: [],
    }),
  );
  t.is(parseManifest(manifest, MediaType.ociManifest, 'x').mediaType, MediaType.ociManifest);
  t.is(
    t.throws(() => parseManifest(manifest, MediaType.dockerManifest, 'x'))?.message,
    `manifest x is malformed: served as ${MediaType.dockerManifest} but declares ${MediaType.ociManifest}`,
  );
  t.is(
    t.throws(() => parseManifest(manifest, 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'x'))?.message,
    'x is a Docker schema 1 manifest, which is not supported',
  );
  t.regex(t.throws(() => parseManifest(Buffer.from('{"schemaVersion":1}'), '', 'x'))!.message, /schemaVersion is 1, not 2/);
});
