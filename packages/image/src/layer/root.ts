/**
 * Containment: every path an image names is taken as if the rootfs were "/". Archive names are
 * cleaned lexically ("..", "./", leading "/" can never climb above the root); the directories on
 * the way are resolved with symlinks followed *inside* the root, by the kernel (openat2 with
 * RESOLVE_IN_ROOT, through the native addon) or, without the addon, by walking them one at a time
 * here. The final name of an entry is never followed: it is created, replaced or removed as is.
 *
 * Layers are applied one entry at a time by this process alone, so a directory resolved once
 * stays where it is until an entry removes or replaces a directory or symlink; then `forget()`
 * drops every resolution (that is rare, and it keeps the common case at one map lookup).
 *
 * Paths here are BytePaths (byte-path.ts): names that are not UTF-8 stay as they are.
 */
import { lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { NativeAddon } from '@oci/native';
import { ImageError } from '../errors.js';
import { type BytePath, bytePath, fsPath, pathBytes, showPath } from './byte-path.js';

/** Linux's limit on symlinks followed in one lookup. */
const MAX_SYMLINKS = 40;

/**
 * An archive path (text or a BytePath) as a path relative to the root: "/a//b/./c/../d/" →
 * "a/b/d"; "" is the root. ".." at the top stays at the top, as it does in "/".
 */
export function cleanPath(name: string): string {
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

export function splitPath(rel: string): { parent: string; name: string } {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? { parent: '', name: rel } : { parent: rel.slice(0, slash), name: rel.slice(slash + 1) };
}

export class RootFS {
  /** Absolute path of the rootfs, itself free of symlinks. */
  readonly dir: BytePath;
  /** Resolved directories: cleaned relative path → absolute path on the host. */
  #dirs = new Map<BytePath, BytePath>();

  constructor(
    /** Absolute path of the rootfs, itself free of symlinks. */
    rootDir: string,
    private readonly addon: Pick<NativeAddon, 'resolveInRoot'> | null,
    /** Told about every directory created on the way to an entry. */
    private readonly onCreate: (dir: BytePath) => void = () => {},
  ) {
    this.dir = bytePath(rootDir);
  }

  /**
   * Where directory `rel` (cleaned) really is. Missing directories are created (mode 0755) with
   * `create`, else the result is undefined. A non-directory on the way is an ELAYER error.
   */
  resolveDir(rel: BytePath, create: boolean): BytePath | undefined {
    if (rel === '') return this.dir;
    const known = this.#dirs.get(rel);
    if (known !== undefined) return known;
    let resolved = this.#kernelResolve(rel);
    if (resolved === undefined) resolved = this.#walk(rel, create);
    if (resolved !== undefined) this.#dirs.set(rel, resolved);
    return resolved;
  }

  /** Drops every resolution: call after removing or replacing a directory or a symlink. */
  forget(): void {
    this.#dirs.clear();
  }

  /** Host path → path inside the root, as text for messages. */
  show(hostPath: BytePath): string {
    return showPath(`/${path.relative(this.dir, hostPath)}`);
  }

  // The kernel's answer when it has one; undefined when something on the way is missing
  // (the walk then creates it, or reports it missing).
  #kernelResolve(rel: BytePath): BytePath | undefined {
    if (!this.addon) return undefined;
    let resolved: BytePath;
    try {
      resolved = bytePath(this.addon.resolveInRoot(pathBytes(this.dir), pathBytes(rel)));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw this.#error(rel, code);
    }
    if (resolved !== this.dir && !resolved.startsWith(`${this.dir}/`)) throw this.#error(rel, 'EXDEV');
    return resolved;
  }

  // Component by component, following symlinks as if the root were "/".
  #walk(rel: BytePath, create: boolean): BytePath | undefined {
    const todo = rel.split('/').reverse();
    let current = this.dir;
    let links = 0;
    while (todo.length > 0) {
      const part = todo.pop()!;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (current !== this.dir) current = path.dirname(current);
        continue;
      }
      const next = `${current}/${part}`;
      const info = lstatSync(fsPath(next), { throwIfNoEntry: false });
      if (info === undefined) {
        if (!create) return undefined;
        mkdirSync(fsPath(next), 0o755);
        this.onCreate(next);
        current = next;
      } else if (info.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw this.#error(rel, 'ELOOP');
        const target = bytePath(readlinkSync(fsPath(next), { encoding: 'buffer' }));
        if (target.startsWith('/')) current = this.dir;
        todo.push(...target.split('/').reverse());
      } else if (info.isDirectory()) {
        current = next;
      } else {
        throw this.#error(rel, 'ENOTDIR');
      }
    }
    return current;
  }

  #error(rel: BytePath, code: string | undefined): ImageError {
    const why =
      code === 'ENOTDIR'
        ? 'a parent is not a directory'
        : code === 'ELOOP'
          ? 'too many levels of symlinks'
          : code === 'EXDEV'
            ? 'it resolves outside the rootfs'
            : code;
    return new ImageError('ELAYER', `/${showPath(rel)}: cannot resolve: ${why}`);
  }
}

/**
 * The host path of file `name` inside `rootDir`, every symlink on the way (the last one too)
 * followed as if the rootfs were "/"; undefined when it does not exist. For reading a rootfs'
 * own files (/etc/passwd, /etc/group) without ever reading one of the host's through a symlink.
 */
export function resolveFileInRoot(rootDir: string, name: string, addon: Pick<NativeAddon, 'resolveInRoot'> | null = null): string | undefined {
  const root = new RootFS(rootDir, addon);
  let rel = cleanPath(bytePath(name));
  for (let links = 0; links <= MAX_SYMLINKS; links++) {
    const { parent, name: last } = splitPath(rel);
    let dir: BytePath | undefined;
    try {
      dir = root.resolveDir(parent, false);
    } catch {
      return undefined; // a non-directory or a loop on the way: no such file
    }
    if (dir === undefined || last === '') return undefined;
    const file = `${dir}/${last}`;
    const info = lstatSync(fsPath(file), { throwIfNoEntry: false });
    if (!info?.isSymbolicLink()) return info ? showPath(file) : undefined;
    const target = bytePath(readlinkSync(fsPath(file), { encoding: 'buffer' }));
    rel = cleanPath(target.startsWith('/') ? target : `${path.relative(root.dir, dir)}/${target}`);
  }
  return undefined;
}
