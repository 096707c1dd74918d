/**
 * Applies one layer's tar entries to a rootfs by the image-spec's rules (layer.md): entries
 * replace what is at their path unless both are directories, `.wh.NAME` removes NAME from the
 * layers below, `.wh..wh..opq` hides every lower child of its directory. Every path goes through
 * RootFS, so nothing an entry names (or a symlink planted earlier points at) is outside the root.
 *
 * Everything here is synchronous: entries arrive in order from the tar reader, and a layer is
 * one long sequence of small syscalls, which Node's sync fs calls make without a round trip
 * through the thread pool (decompression meanwhile runs in that pool).
 *
 * Paths are BytePaths (byte-path.ts), given to fs as their bytes: names stay exact, UTF-8 or not.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  ftruncateSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  type Stats,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import type { NativeAddon } from '@oci/native';
import type { IdMapping } from '@oci/specs';
import { ImageError } from '../errors.js';
import { type BytePath, bytePath, fsPath, showPath } from './byte-path.js';
import { mapId } from './ids.js';
import { cleanPath, RootFS, splitPath } from './root.js';
import type { TarHandler, TarHeader } from './tar.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

export interface ApplyOptions {
  /** No chown; devices skipped; directories kept writable by their owner until the layer ends. */
  rootless: boolean;
  uidMap?: readonly IdMapping[];
  gidMap?: readonly IdMapping[];
  /** For devices, fifos and xattrs; null: they are skipped and reported. */
  addon: Pick<NativeAddon, 'mknod' | 'lsetxattr'> | null;
  /** Something the image holds that could not be reproduced here. */
  skip(item: SkippedItem): void;
}

export interface SkippedItem {
  path: string;
  what: 'device' | 'fifo' | 'xattr';
  reason: string;
}

const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW; // libuv adds O_CLOEXEC

const IMPLIED_OWNER = { uid: 0, gid: 0 };

interface DirectoryMetadata {
  path: BytePath;
  mode: number;
  atime: number;
  mtime: number;
}

export class LayerApplier implements TarHandler {
  readonly root: RootFS;
  /** Host paths this layer created or changed: whiteouts spare them, opaque directories keep them. */
  #touched = new Set<BytePath>();
  /** Set once the layer is done: a directory's mtime changes while its children are created. */
  #directories: DirectoryMetadata[] = [];
  /** The file being written; `end`: where its data written so far ends (a sparse file's holes may follow). */
  #file: { fd: number; path: BytePath; header: TarHeader; end: number } | undefined;
  entries = 0;

  constructor(
    rootDir: string,
    resolver: Pick<NativeAddon, 'resolveInRoot'> | null,
    private readonly options: ApplyOptions,
  ) {
    this.root = new RootFS(rootDir, resolver, (dir) => {
      // A directory the archive implies but does not list belongs to the container's root.
      this.#touched.add(dir);
      this.#chown(dir, IMPLIED_OWNER);
    });
  }

  entry(header: TarHeader): void {
    this.entries++;
    try {
      this.#entry(header);
    } catch (error) {
      throw describe(error, header.path);
    }
  }

  data(chunk: Buffer, offset: number): void {
    const file = this.#file;
    if (!file) return;
    try {
      for (let at = 0; at < chunk.length; ) at += writeSync(file.fd, chunk, at, chunk.length - at, offset + at);
      file.end = offset + chunk.length;
    } catch (error) {
      throw describe(error, file.header.path);
    }
  }

  end(): void {
    const file = this.#file;
    if (!file) return;
    this.#file = undefined;
    try {
      const { fd, path, header } = file;
      if (file.end < header.size) ftruncateSync(fd, header.size); // a hole at the end: no data makes it
      this.#chown(path, header, fd);
      fchmodSync(fd, header.mode);
      this.#xattrs(path, header);
      futimesSync(fd, header.atime ?? header.mtime, header.mtime);
    } catch (error) {
      throw describe(error, file.header.path);
    } finally {
      closeSync(file.fd);
    }
  }

  /** After the last entry: directory times (and, rootless, their final modes). */
  finish(): void {
    for (const dir of this.#directories.reverse()) {
      // A later entry of the layer may have replaced it (with a symlink, even): never follow.
      const path = fsPath(dir.path);
      if (!lstatSync(path, { throwIfNoEntry: false })?.isDirectory()) continue;
      if (this.options.rootless) chmodSync(path, dir.mode);
      lutimesSync(path, dir.atime, dir.mtime);
    }
    this.#directories = [];
  }

  /** Closes a file left open by an error. */
  abort(): void {
    if (this.#file) closeSync(this.#file.fd);
    this.#file = undefined;
  }

  #entry(header: TarHeader): void {
    const rel = cleanPath(bytePath(header.path));
    if (rel === '') return this.#rootEntry(header);
    const { parent, name } = splitPath(rel);
    if (name.startsWith(WHITEOUT_PREFIX)) return this.#whiteout(parent, name);

    const dir = this.root.resolveDir(parent, true)!;
    const path = `${dir}/${name}`;
    if (header.type === 'hardlink') return this.#hardlink(path, header);
    this.#touched.add(path);

    switch (header.type) {
      case 'file':
        this.#file = { fd: this.#make(path, () => openSync(fsPath(path), CREATE_FILE, 0o600))!, path, header, end: 0 };
        return;
      case 'directory':
        this.#make(path, () => mkdirSync(fsPath(path), 0o700), { keepDirectory: true });
        return this.#directory(path, header);
      case 'symlink':
        this.#make(path, () => symlinkSync(header.linkname, fsPath(path)));
        this.#chown(path, header);
        this.#xattrs(path, header);
        return lutimesSync(fsPath(path), header.atime ?? header.mtime, header.mtime);
      default:
        return this.#special(path, header);
    }
  }

  /**
   * Runs `make` to create `path`; when something is there already (rare: an entry over a lower
   * layer's, found by EEXIST rather than a stat of every path), removes it and makes it again,
   * except a directory that a directory entry keeps (then `make`'s result is undefined).
   */
  #make<T>(path: BytePath, make: () => T, { keepDirectory = false } = {}): T | undefined {
    try {
      return make();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const existing = lstatSync(fsPath(path));
    if (keepDirectory && existing.isDirectory()) return undefined;
    this.#remove(path, existing);
    return make();
  }

  // "./" in the archive: the rootfs directory itself takes its owner, mode and times.
  #rootEntry(header: TarHeader): void {
    if (header.type !== 'directory') throw new ImageError('ELAYER', `the root of the layer is a ${header.type}, not a directory`);
    this.#directory(this.root.dir, header);
  }

  #directory(path: BytePath, header: TarHeader): void {
    this.#chown(path, header);
    chmodSync(fsPath(path), this.options.rootless ? header.mode | 0o700 : header.mode);
    this.#xattrs(path, header);
    this.#directories.push({ path, mode: header.mode, atime: header.atime ?? header.mtime, mtime: header.mtime });
  }

  #hardlink(path: BytePath, header: TarHeader): void {
    const targetRel = cleanPath(bytePath(header.linkname));
    const { parent, name } = splitPath(targetRel);
    const targetDir = name === '' ? undefined : this.root.resolveDir(parent, false);
    const target = targetDir === undefined ? undefined : `${targetDir}/${name}`;
    const info = target === undefined ? undefined : lstatSync(fsPath(target), { throwIfNoEntry: false });
    if (!info) throw new ImageError('ELAYER', `hardlink to /${showPath(targetRel)}, which does not exist`);
    if (info.isDirectory()) throw new ImageError('ELAYER', `hardlink to /${showPath(targetRel)}, a directory`);
    if (target === path) return; // a link to itself: already there
    const existing = lstatSync(fsPath(path), { throwIfNoEntry: false });
    if (existing) this.#remove(path, existing);
    this.#touched.add(path);
    // link(2) does not follow a symlink it is given: the link is to the symlink itself, as in tar.
    linkSync(fsPath(target!), fsPath(path));
  }

  // Devices and fifos: mknod through the addon, when we may.
  #special(path: BytePath, header: TarHeader): void {
    const fifo = header.type === 'fifo';
    const { addon, rootless } = this.options;
    const why = !addon ? 'the native addon is not built' : rootless && !fifo ? 'rootless' : undefined;
    if (why) return this.options.skip({ path: this.root.show(path), what: fifo ? 'fifo' : 'device', reason: why });
    const kind = fifo ? constants.S_IFIFO : header.type === 'block-device' ? constants.S_IFBLK : constants.S_IFCHR;
    this.#make(path, () => addon!.mknod(fsPath(path), kind | 0o600, header.devmajor, header.devminor));
    this.#chown(path, header);
    chmodSync(fsPath(path), header.mode);
    this.#xattrs(path, header);
    lutimesSync(fsPath(path), header.atime ?? header.mtime, header.mtime);
  }

  #whiteout(parent: BytePath, name: BytePath): void {
    if (name === OPAQUE_WHITEOUT) return this.#opaque(this.root.resolveDir(parent, true)!);
    const hidden = name.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') throw new ImageError('ELAYER', `invalid whiteout '${showPath(name)}'`);
    // Other .wh..wh.* names are aufs' own bookkeeping, which Docker skips too.
    if (hidden.startsWith(WHITEOUT_PREFIX)) return;
    const dir = this.root.resolveDir(parent, false);
    if (dir === undefined) return; // nothing below to hide
    const path = `${dir}/${hidden}`;
    if (this.#touched.has(path)) return; // a whiteout hides lower layers only
    const existing = lstatSync(fsPath(path), { throwIfNoEntry: false });
    if (existing) this.#remove(path, existing);
  }

  // Removes every child of `dir` that this layer did not put there, at any depth.
  #opaque(dir: BytePath): void {
    for (const child of readdirSync(fsPath(dir), { encoding: 'buffer' })) {
      const path = `${dir}/${bytePath(child)}`;
      if (!this.#touched.has(path)) {
        this.#remove(path, lstatSync(fsPath(path)));
      } else if (lstatSync(fsPath(path)).isDirectory()) {
        this.#opaque(path);
      }
    }
  }

  #remove(path: BytePath, existing: Stats): void {
    if (existing.isDirectory()) {
      rmSync(fsPath(path), { recursive: true, force: true });
      this.root.forget();
    } else {
      unlinkSync(fsPath(path));
      if (existing.isSymbolicLink()) this.root.forget();
    }
  }

  #chown(path: BytePath, header: Pick<TarHeader, 'uid' | 'gid'>, fd?: number): void {
    if (this.options.rootless) return;
    const uid = mapId(this.options.uidMap, header.uid, 'uid');
    const gid = mapId(this.options.gidMap, header.gid, 'gid');
    if (fd === undefined) lchownSync(fsPath(path), uid, gid);
    else fchownSync(fd, uid, gid);
  }

  #xattrs(path: BytePath, header: TarHeader): void {
    if (!header.xattrs) return;
    const { addon, skip } = this.options;
    for (const [name, value] of header.xattrs) {
      if (!addon) {
        skip({ path: this.root.show(path), what: 'xattr', reason: `${name}: the native addon is not built` });
        continue;
      }
      try {
        addon.lsetxattr(fsPath(path), name, value);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // Unprivileged, or a filesystem without that namespace: report, as umoci does.
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
        skip({ path: this.root.show(path), what: 'xattr', reason: `${name}: ${code}` });
      }
    }
  }
}

// Errors name the entry as the archive does (as text); fs errors keep their code in the cause.
function describe(error: unknown, entry: Buffer): unknown {
  if (!(error instanceof ImageError) && typeof (error as NodeJS.ErrnoException).code !== 'string') return error;
  return new ImageError('ELAYER', `${entry}: ${(error as Error).message}`, { cause: error });
}
