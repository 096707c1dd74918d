/**
 * A real registry for tests: Debian's docker-registry (distribution 2.8) on a free loopback
 * port with its storage in a temp dir. Stopped by `stop()`, and killed when the test process
 * exits even if a test failed before it could call `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { tempDir } from './tmp.js';

export interface Registry {
  /** host:port, as it appears in image references. */
  readonly host: string;
  /** http://host:port */
  readonly url: string;
  stop(): Promise<void>;
}

/** Each running registry and the removal of its storage. */
const running = new Map<ChildProcess, () => void>();
process.on('exit', () => {
  for (const [child, remove] of running) {
    child.kill('SIGKILL');
    remove();
  }
});

/** How the registry authenticates: htpasswd basic auth, or bearer tokens from a token server. */
export type RegistryAuth =
  | { htpasswd: { users: Readonly<Record<string, string>> } }
  | { token: { realm: string; service: string; issuer: string; certFile: string } };

export interface RegistryOptions {
  auth?: RegistryAuth;
  /** Serve HTTPS with this certificate and key (PEM files); `url` is then https://. */
  tls?: { certFile: string; keyFile: string };
  /** Listen there (a loopback address, and a port that must be free); default 127.0.0.1 and a free port. */
  address?: { host: string; port: number };
}

export async function startRegistry({ auth, tls, address }: RegistryOptions = {}): Promise<Registry> {
  const { dir, remove } = tempDir('registry');
  const authLines = auth ? authConfig(auth, dir) : [];
  const host = address?.host ?? '127.0.0.1';
  for (let attempt = 0; ; attempt++) {
    const port = address?.port ?? (await freePort());
    const config = path.join(dir, 'config.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log: { level: error, accesslog: { disabled: true } }',
        `storage: { filesystem: { rootdirectory: ${JSON.stringify(path.join(dir, 'data'))} }, delete: { enabled: true } }`,
        `http: { addr: "${host}:${port}"${tls ? `, tls: { certificate: ${JSON.stringify(tls.certFile)}, key: ${JSON.stringify(tls.keyFile)} }` : ''} }`,
        ...authLines,
        '',
      ].join('\n'),
    );
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    running.set(child, remove);
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
    if (await becomesReady(url, child)) {
      return {
        host: `${host}:${port}`,
        url,
        async stop() {
          running.delete(child);
          if (child.exitCode === null) {
            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGTERM');
            await exited;
          }
          remove();
        },
      };
    }
    running.delete(child);
    child.kill('SIGKILL');
    if (attempt === 2) {
      remove();
      throw new Error(`docker-registry did not start: ${stderr.trim() || 'no output'}`);
    }
  }
}

async function becomesReady(url: string, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    try {
      // 200, or 401 when the registry wants credentials: either way it is serving.
      if ((await status(`${url}/v2/`)) < 500) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** The status of GET url (HTTPS unverified: the harness only asks whether the registry is up). */
function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    get(url, { rejectUnauthorized: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on('error', reject);
  });
}

function authConfig(auth: RegistryAuth, dir: string): string[] {
  if ('htpasswd' in auth) {
    const file = path.join(dir, 'htpasswd');
    // distribution accepts bcrypt entries only; cost 4 keeps the test fast.
    writeFileSync(
      file,
      Object.entries(auth.htpasswd.users)
        .map(([user, password]) => `${user}:${bcrypt.hashSync(password, 4)}\n`)
        .join(''),
    );
    return ['auth:', '  htpasswd:', '    realm: oci-test', `    path: ${JSON.stringify(file)}`];
  }
  const { realm, service, issuer, certFile } = auth.token;
  return [
    'auth:',
    '  token:',
    `    realm: ${JSON.stringify(realm)}`,
    `    service: ${service}`,
    `    issuer: ${issuer}`,
    `    rootcertbundle: ${JSON.stringify(certFile)}`,
  ];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
