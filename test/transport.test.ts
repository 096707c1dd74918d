/**
 * The registry client's transport against real servers: HTTPS with a CA of the test's own
 * (--ca-cert, --insecure), and redirects that must not carry credentials to another host.
 */

import { createServer, type IncomingHttpHeaders } from 'node:http';
import { ImageError, type PullOptions, pull, Store } from '@oci/image';
import { Http } from '@oci/image/registry/http';
import test from 'ava';
import { busyboxImage } from './harness/busybox.js';
import { type Certificates, makeCertificates } from './harness/certs.js';
import { oci } from './harness/cli.js';
import { pushLayout, writeLayout } from './harness/images.js';
import { type Registry, startRegistry } from './harness/registry.js';
import { tempDir } from './harness/tmp.js';
import { listen } from './harness/token-server.js';

let registry: Registry;
let certs: Certificates;
let cleanup: () => void;
const base: PullOptions = { hosts: { mirrors: new Map(), insecure: new Set() }, retries: 0, env: { HOME: '/nonexistent' } };

test.before(async () => {
  const dir = tempDir('tls');
  cleanup = dir.remove;
  certs = makeCertificates(dir.dir);
  registry = await startRegistry({ tls: certs });
  writeLayout(dir.dir, { latest: await busyboxImage() });
  pushLayout(dir.dir, 'latest', `${registry.host}/library/busybox:latest`, 'oci', ['--ca-cert', certs.caFile]);
});
test.after.always(async () => {
  await registry?.stop();
  cleanup?.();
});

async function emptyStore(t: { teardown(fn: () => void): void }) {
  const { dir, remove } = tempDir('store');
  t.teardown(remove);
  return Store.open(dir, { create: true });
}

test('an HTTPS registry whose CA is unknown is refused, naming --ca-cert', async (t) => {
  const error = await t.throwsAsync(pull(await emptyStore(t), `${registry.host}/library/busybox`, base), { instanceOf: ImageError });
  t.is(error?.code, 'ENETWORK');
  t.regex(error!.message, new RegExp(`^TLS with ${registry.host} failed: .+ \\(trust its CA with --ca-cert\\)$`));
});

test('--ca-cert makes the registry trusted', async (t) => {
  const result = await pull(await emptyStore(t), `${registry.host}/library/busybox`, { ...base, caCerts: [certs.caFile] });
  t.is(result.name, `${registry.host}/library/busybox:latest`);
});

test('oci run as a program trusts the CAs in NODE_EXTRA_CA_CERTS (its launcher keeps them from Node, for the registry client)', (t) => {
  const { dir, remove } = tempDir('store');
  t.teardown(remove);
  const env = { ...process.env, OCI_REGISTRY_MIRRORS: '', HOME: '/nonexistent' };
  const trusted = oci(['--store', dir, 'pull', '--quiet', `${registry.host}/library/busybox`], { env: { ...env, NODE_EXTRA_CA_CERTS: certs.caFile } });
  t.is(trusted.stderr, '');
  t.is(trusted.status, 0);
  const untrusted = oci(['--store', dir, 'pull', '--quiet', `${registry.host}/library/busybox`], { env: { ...env, NODE_EXTRA_CA_CERTS: '' } });
  t.regex(untrusted.stderr, /TLS with .* failed/);
});

test('--insecure pulls without checking the certificate', async (t) => {
  const result = await pull(await emptyStore(t), `${registry.host}/library/busybox`, { ...base, insecure: true });
  t.is(result.name, `${registry.host}/library/busybox:latest`);
});

test('a redirect to another host drops the Authorization header; one to the same host keeps it', async (t) => {
  const seen: IncomingHttpHeaders[] = [];
  const storage = createServer((request, response) => {
    seen.push(request.headers);
    response.end('blob bytes');
  });
  const storagePort = await listen(storage);
  const api = createServer((request, response) => {
    seen.push(request.headers);
    if (request.url === '/same') response.writeHead(307, { location: '/elsewhere' }).end();
    else if (request.url === '/elsewhere') response.end('same host');
    else response.writeHead(307, { location: `http://127.0.0.1:${storagePort}/signed?X-Amz-Signature=abc` }).end();
  });
  const apiPort = await listen(api);
  t.teardown(() => {
    storage.close();
    api.close();
  });
  const http = new Http();
  t.teardown(() => http.close());
  const headers = { authorization: 'Bearer secret-token' };

  const away = await http.request({ method: 'GET', url: new URL(`http://127.0.0.1:${apiPort}/v2/x/blobs/sha256:1`), headers });
  t.is(await away.body.text(), 'blob bytes');
  t.is(seen[0]!.authorization, 'Bearer secret-token');
  t.is(seen[1]!.authorization, undefined, 'blob storage gets no registry credentials');

  seen.length = 0;
  const same = await http.request({ method: 'GET', url: new URL(`http://127.0.0.1:${apiPort}/same`), headers });
  t.is(await same.body.text(), 'same host');
  t.deepEqual(
    seen.map((h) => h.authorization),
    ['Bearer secret-token', 'Bearer secret-token'],
  );
});
