/**
 * A throwaway certificate authority and a server certificate it signed (made with openssl), for
 * 127.0.0.1 and the host names given.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Certificates {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export function makeCertificates(dir: string, hostNames: readonly string[] = []): Certificates {
  const file = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(file('san.ext'), `subjectAltName=${['IP:127.0.0.1', ...hostNames.map((name) => `DNS:${name}`)].join(',')}\n`);
  for (const args of [
    ['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=oci-test-ca'],
    ['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1'],
    [
      'x509',
      '-req',
      '-in',
      file('server.csr'),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file('server.pem'),
      '-days',
      '2',
      '-extfile',
      file('san.ext'),
    ],
  ]) {
    const result = spawnSync('openssl', args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  }
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') };
}
