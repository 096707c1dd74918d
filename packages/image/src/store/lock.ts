/**
 * Locks between processes that share a store (or a bundle directory being unpacked into), which
 * the kernel releases when their holder dies, even by kill -9: a lock is a bound Linux abstract
 * unix socket (`\0oci-store/…`), and binding a name that another socket holds fails with
 * EADDRINUSE. No lock file is left behind by a crash, so there is nothing stale to detect or
 * break, and a reused pid cannot be mistaken for a holder.
 *
 * Limit: abstract socket names are per network namespace; processes sharing one store must share
 * a network namespace (the host's, as `oci` runs) to exclude each other.
 *
 * The socket is bound by the native addon where it is built: node:net's server costs a process
 * that needs no network (`oci unpack --overlay`) node:net itself, and its listen() loads Node's
 * cluster and child_process modules too (~10 ms together here). Either way the same name is
 * bound, so processes of both kinds exclude each other, and the `oci` front door binds it as the
 * addon does for the bundles it makes (packages/native/src/front-door/unpack.c: lock_bundle).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Server } from 'node:net';
import type { NativeAddon } from '@oci/native';
import { ImageError } from '../errors.js';
import { nativeAddon } from '../native.js';

export interface Held {
  release(): Promise<void>;
}

/** The names of one directory's locks: keyed by its device and inode, not its path. */
export class LockNames {
  private constructor(private readonly prefix: string) {}

  /** `kind` keeps the locks of a store and of a bundle apart. */
  static async of(dir: string, kind: 'store' | 'bundle' = 'store'): Promise<LockNames> {
    const info = statSync(dir, { bigint: true });
    return new LockNames(`\0oci-${kind}/${info.dev.toString(36)}.${info.ino.toString(36)}/`);
  }

  name(lock: string): string {
    return this.prefix + lock;
  }
}

/** Binds `name`, or returns undefined when another socket holds it. */
export async function tryLock(name: string): Promise<Held | undefined> {
  const addon = await nativeAddon();
  try {
    return addon ? bindWithAddon(addon, name) : await bindWithServer(name);
  } catch (error) {
    throw new ImageError('ESTORE', `cannot take the store lock: ${(error as Error).message}`, { cause: error });
  }
}

function bindWithAddon(addon: NativeAddon, name: string): Held | undefined {
  const fd = addon.bindAbstract(name.slice(1)); // without the NUL that makes it abstract
  return fd < 0 ? undefined : { release: async () => closeSync(fd) };
}

async function bindWithServer(name: string): Promise<Held | undefined> {
  // node:net loaded by the first lock taken: a run of an unpacked image takes none.
  const { createServer } = await import('node:net');
  const server = createServer();
  const bound = await new Promise<boolean>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(false) : reject(error)));
    server.listen({ path: name }, () => resolve(true));
  });
  if (!bound) return undefined;
  // The lock must not keep a process alive that has nothing else to do.
  server.unref();
  return { release: () => close(server) };
}

/** Waits for `name` to be free and takes it, polling with a growing pause. */
export async function lock(name: string): Promise<Held> {
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    const held = await tryLock(name);
    if (held) return held;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** Runs `fn` holding the lock `name`. */
export async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const held = await lock(name);
  try {
    return await fn();
  } finally {
    await held.release();
  }
}

/** True while some process holds `name` (a probe: binds and releases at once when free). */
export async function isHeld(name: string): Promise<boolean> {
  const held = await tryLock(name);
  await held?.release();
  return held === undefined;
}

/**
 * A fresh id for a lease or a temp file: 12 random hex digits, read from the kernel's random
 * source (node:crypto's randomBytes would cost a pull ~7 ms to load: see digest.ts).
 */
export function newId(): string {
  const bytes = Buffer.alloc(6);
  const fd = openSync('/dev/urandom', 'r');
  try {
    readSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  return bytes.toString('hex');
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
