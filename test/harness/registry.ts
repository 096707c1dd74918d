/**
 * A real registry for tests: Debian's docker-registry (distribution 2.8) on a free loopback
 * port with its storage in a temp dir. Stopped by `stop()`, and killed when the test process
 * exits even if a test failed before it could call `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { tempDir } from './tmp.js';

export interface Registry {
  /** host:port, as it appears in image references. */
  readonly host: string;
  /** http://host:port */
  readonly url: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startRegistry(): Promise<Registry> {
  const { dir, remove } = tempDir('registry');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'config.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log: { level: error, accesslog: { disabled: true } }',
        `storage: { filesystem: { rootdirectory: ${JSON.stringify(path.join(dir, 'data'))} }, delete: { enabled: true } }`,
        `http: { addr: "127.0.0.1:${port}" }`,
        '',
      ].join('\n'),
    );
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(child);
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const url = `http://127.0.0.1:${port}`;
    if (await becomesReady(url, child)) {
      return {
        host: `127.0.0.1:${port}`,
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
      if ((await fetch(`${url}/v2/`)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
