/** Looking at a content store from outside: what is in it, to check that a failure left it as it was. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface StoreSnapshot {
  index: unknown;
  blobs: string[];
  ingest: string[];
}

export function snapshotStore(dir: string): StoreSnapshot {
  const list = (sub: string) => (existsSync(path.join(dir, sub)) ? readdirSync(path.join(dir, sub), { recursive: true }).map(String).sort() : []);
  return {
    index: existsSync(path.join(dir, 'index.json')) ? JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) : undefined,
    blobs: list('blobs'),
    ingest: list('ingest'),
  };
}

export function refNames(dir: string): string[] {
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
  return index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? '');
}
