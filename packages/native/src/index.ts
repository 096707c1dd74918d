/**
 * Loads the native parts: the helper executable (always needed by the runtime) and the addon
 * (an optional accelerator for the image package, required by the runtime).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * Paths the addon takes are strings (UTF-8) or Buffers: a Buffer is the path's bytes as they
 * are, for names that are not UTF-8 (the layer applier passes every path so).
 */
export interface NativeAddon {
  /** mknod(2); `mode` includes the file type bits (S_IFCHR, S_IFBLK, S_IFIFO). */
  mknod(path: string | Buffer, mode: number, major: number, minor: number): void;
  /** sync_file_range(2) with SYNC_FILE_RANGE_WRITE: starts writing a file's dirty range to disk. */
  startWriteback(fd: number, offset: number, length: number): void;
  /** umount2(2) with MNT_DETACH: the mount on top at path, and every mount under it. */
  detachMount(path: string): void;
  /** lsetxattr(2): sets an extended attribute without following a final symlink. */
  lsetxattr(path: string | Buffer, name: string, value: Buffer): void;
  /** A sha256 or sha512 digest with the OpenSSL Node has, on this thread: node:crypto's Hash without node:crypto. */
  createHash(algorithm: 'sha256' | 'sha512'): NativeHash;
  /** lgetxattr(2) */
  lgetxattr(path: string | Buffer, name: string): Buffer;
  /** llistxattr(2): the attribute names. */
  llistxattr(path: string | Buffer): string[];
  /**
   * `root` joined with the directory `path` names when `root` is "/": openat2(2) with
   * RESOLVE_IN_ROOT, so "..", absolute paths and symlinks never lead outside `root`. `root` may
   * be a detached mount's `/proc/self/fd/N` (see mountOverlay). A Buffer `path` gives a Buffer.
   */
  resolveInRoot(root: string | Buffer, path: string): string;
  resolveInRoot(root: string | Buffer, path: Buffer): Buffer;
  /**
   * An overlay mount attached to no path (fsopen, fsconfig, fsmount): the fd of its root, to
   * reach as `/proc/self/fd/N`. Closing the fd (or the process ending) frees the mount. `lower`
   * is topmost first; without `upper` the overlay is read-only; `userxattr` for a user namespace;
   * `index` keeps hardlinks whole when a lower file is copied up (its index lives in `work`);
   * `userNamespace`: made in a user namespace of its own, as an unprivileged user may (with
   * `userxattr`). Mounted nosuid, nodev, noexec, metacopy off.
   */
  mountOverlay(options: { lower: readonly string[]; upper?: string; work?: string; userxattr?: boolean; index?: boolean; userNamespace?: boolean }): number;

  /** A sealed memfd holding a copy of the file, to execute as /proc/PID/fd/FD (CVE-2019-5736). */
  sealedCopy(path: string): number;
  /** posix_spawn: file runs with fds[i] as its fd i (and no other), no environment; returns its pid. */
  spawn(file: string, argv: readonly string[], fds: readonly number[]): number;
  /** A connected unix stream socket (close-on-exec). */
  connectUnix(path: string): number;
  /**
   * A unix stream socket (close-on-exec) bound to the abstract name `name` (without its leading
   * NUL): its fd, or -1 when another socket holds the name. Closing the fd frees it.
   */
  bindAbstract(name: string): number;
  /** pidfd_open(2): an fd naming the process even after its pid is reused. */
  pidfdOpen(pid: number): number;
  pidfdSendSignal(pidfd: number, signal: number): void;
  /** The exit of a child as { code } or { signal }, null while it runs; throws ECHILD for a non-child. */
  reap(pidfd: number): ProcessExit | null;
  /**
   * Calls back once, on the event loop, when the fd is readable (a pidfd: when its process
   * exited). Returns the watch's id for cancelReadable: until then the watch keeps the loop
   * alive, unless `keepAlive` is false.
   */
  onReadable(fd: number, callback: () => void, keepAlive?: boolean): number;
  /** Stops a pending onReadable watch without calling back (no effect once it fired). */
  cancelReadable(watch: number): void;
  /** Two connected unix stream sockets (close-on-exec). */
  socketpair(): [number, number];
  /** eventfd(2), non-blocking and close-on-exec (cgroup v1's event notifications). */
  eventfd(): number;
  /** The fd queued with SCM_RIGHTS on a unix socket; EAGAIN when none is queued. */
  receiveFd(socket: number): number;
  /**
   * _exit(2): ends the process at once with `status`, skipping Node's teardown (joining its
   * threads, freeing its heap), for a process that has nothing left to do.
   */
  exitNow(status: number): never;
  /** An exclusive flock(2) without waiting: false when another process holds it. */
  tryLock(fd: number): boolean;
  /** Raw mode without output processing (cfmakeraw); returns the previous mode. */
  makeRaw(fd: number): Buffer;
  restoreTerminal(fd: number, saved: Buffer): void;
  /** TIOCSWINSZ on a terminal. */
  setWindowSize(fd: number, rows: number, columns: number): void;
  /** Loads a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to a cgroup v2 directory. */
  attachDeviceFilter(cgroupDir: string, instructions: Buffer): void;
  /**
   * A seccomp filter compiled by libseccomp to classic BPF (struct sock_filter[]), for the
   * native architecture and those given (libseccomp's names: x86_64, x32…). Actions and
   * operators are libseccomp's numbers. Rules for syscalls libseccomp does not know are left
   * out and their names returned in `unknown`.
   */
  compileSeccomp(defaultAction: number, architectures: readonly string[], rules: readonly SeccompRule[]): { program: Buffer; unknown: string[] };
  /**
   * libseccomp's version, its API level on this kernel, which of `architectures` (libseccomp's
   * names) a filter for this machine can hold, and the SECCOMP_FILTER_FLAG_* bits (1 to 32) the
   * kernel takes.
   */
  seccompInfo(architectures?: readonly string[]): { version: string; api: number; architectures: string[]; flags: number };
  /**
   * An architecture's token (its AUDIT_ARCH value; x32's is libseccomp's own) and the numbers of
   * the syscalls named there (x32's with the 0x40000000 bit), -1 where it has none of that name.
   */
  seccompSyscalls(architecture: string, names: readonly string[]): { token: number; numbers: number[] };
  /**
   * A gzip inflater (ISA-L's igzip) running in a thread of its own, which also hashes what it
   * inflates; null when libisal is not installed. Absent when the addon was built without
   * ISA-L's headers (libisal-dev). `onChange` is called (on this thread, from the event loop)
   * when the inflater consumed a chunk, filled a buffer, finished or failed.
   */
  createGunzip?(algorithm: 'sha256' | 'sha512' | '', onChange: () => void): NativeGunzip | null;
}

export interface SeccompRule {
  syscall: string;
  action: number;
  /** Compared together (AND); a, b: libseccomp's datum_a, datum_b. */
  conditions: readonly { index: number; op: number; a: bigint; b: bigint }[];
}

/**
 * A gzip stream being inflated in the addon's thread. Members one after another are one stream
 * (as gzip and Node's zlib read them); zeros after one are padding. The thread reads and writes
 * the caller's memory in place: a chunk written must stay untouched until unconsumed() no longer
 * counts it, a buffer lent until take() has given its length.
 */
export interface NativeGunzip {
  /** Compressed bytes, after those written before. */
  write(chunk: Uint8Array): void;
  /** No more input: a stream not complete by then is truncated. */
  end(): void;
  /** An empty buffer to inflate into; buffers are filled whole, in the order lent. */
  lend(buffer: Uint8Array): void;
  /**
   * How many bytes the oldest buffer lent and not yet taken back holds, once the thread filled
   * it: -1 while it has not, -2 when the stream is complete and every byte was taken. Throws an
   * error with code EINFLATE and zlib's wording on corrupt or truncated data.
   */
  take(): number;
  /** How many of the newest chunks written are not yet consumed. */
  unconsumed(): number;
  /** `algorithm:hex` of the inflated bytes once take() returned -2; '' without an algorithm. */
  digest(): string;
  /** Stops the thread wherever it is; the memory lent to it is the caller's again. */
  close(): void;
}

/** Bytes hashed as they come: `update` takes a string (as UTF-8) or the bytes a view shows. */
export interface NativeHash {
  update(data: string | Uint8Array): NativeHash;
  /** The lower-case hex digest of everything given; once ('' after). */
  digest(): string;
}

/** How a process ended: its exit code, or the signal that killed it. */
export type ProcessExit = { code: number; signal?: undefined } | { signal: number; code?: undefined };

/**
 * This package's directory. Found by its name, not relative to this file, since the oci
 * command is a bundle elsewhere; and without require.resolve's set-up, which costs 3-5 ms on
 * every command of the runtime's hot path: this file is in the package (a library user), or
 * the package is in a node_modules above the bundle (the oci command).
 */
function packageDir(): string {
  const here = import.meta.dirname;
  const own = path.join(here, '..', '..');
  if (isThisPackage(own)) return own;
  for (let dir = here; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', '@oci', 'native');
    if (isThisPackage(candidate)) return realpathSync.native(candidate);
    if (dir === path.dirname(dir)) {
      // Rarely reached, so node:module (which loads the ES module loader too, ~0.5 ms) only here.
      const { createRequire } = process.getBuiltinModule('node:module');
      return path.dirname(createRequire(import.meta.url).resolve('@oci/native/package.json'));
    }
  }
}

function isThisPackage(dir: string): boolean {
  const file = path.join(dir, 'package.json');
  if (!existsSync(file)) return false; // cheaper than the error a read of it would throw
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === '@oci/native';
  } catch {
    return false;
  }
}

let ownDir: string | undefined;

/**
 * A binary of this package: node-gyp's build of it (the workspace's, or one made on install
 * where no prebuilt one loads), else the prebuilt one the package ships for this platform.
 * Looked up on first use: `oci state` needs neither helper nor addon.
 */
function built(file: string): string {
  ownDir ??= packageDir();
  const local = path.join(ownDir, 'build', 'Release', file);
  return existsSync(local) ? local : path.join(ownDir, 'prebuilds', `${process.platform}-${process.arch}`, file);
}

/** Absolute path of the helper executable built by node-gyp. */
export function helperPath(): string {
  return built('oci-helper');
}

/**
 * Where the loaded addon is kept: on the process, not in this module, which the oci command
 * has a copy of in each of its bundled files (packages/cli/scripts/bundle.mjs). The addon loads
 * once, whichever file asks first, and the others see it.
 */
const LOADED = Symbol.for('@oci/native addon');
const slot = process as { [LOADED]?: NativeAddon | null };

/** The addon, or null when it was not built (callers that can do without it degrade). */
export function loadAddon(): NativeAddon | null {
  if (slot[LOADED] === undefined) {
    const file = built('oci_native.node');
    if (existsSync(file)) {
      const module = { exports: {} as NativeAddon };
      process.dlopen(module, file); // what require() does with a .node file, without node:module
      slot[LOADED] = module.exports;
    } else {
      slot[LOADED] = null;
    }
  }
  return slot[LOADED];
}

/** The addon if something in this process loaded it already, else null: never loads it. */
export function loadedAddon(): NativeAddon | null {
  return slot[LOADED] ?? null;
}

/** The addon, or an error naming how to build it, for callers that cannot work without it. */
export function requireAddon(): NativeAddon {
  const loaded = loadAddon();
  if (!loaded)
    throw new Error(
      `@oci/native has no addon for ${process.platform}-${process.arch}: build it with \`npm rebuild @oci/native\` (a C toolchain and libseccomp-dev), or \`pnpm --filter @oci/native rebuild\` in the workspace`,
    );
  return loaded;
}
