/**
 * The helper's plan: the ops it runs, in order, and their wire format (the C side is
 * packages/native/src/helper/plan.c). A plan is a program the runtime writes; the helper only
 * executes it, so every decision (what to mount, in which order, which capabilities) is here,
 * in TypeScript, where it can be checked and tested without starting a container.
 *
 * Ops before `clone` run in the helper process (it joins cgroups and namespaces there); ops
 * after it run in the container's first process.
 */
export interface OpArgs {
  /** Join a v1 cgroup directory. */
  cgroup: [dir: string];
  oom_score_adj: [score: number];
  /** Join the namespace at path; type is its CLONE_NEW* flag. */
  setns: [path: string, type: number];
  /** A new time namespace for what `clone` creates, with its offsets. */
  timens: [monotonicSecs: number, monotonicNanos: number, boottimeSecs: number, boottimeNanos: number];
  /** The running container `join` enters: its first process, checked by its start time. */
  container: [pid: number, startTime: string];
  /** Enter the namespaces (CLONE_NEW* flags) of the `container`. */
  join: [flags: number];
  /** Listen on dir/name for `start` (see start.c). */
  start_socket: [dir: string, name: string];
  /**
   * The maps ("ID HOSTID SIZE" lines) of the user namespace the next `clone` creates, written
   * by the helper's side before the container's process goes on; setgroups: what
   * /proc/PID/setgroups gets ('' leaves it); newuidmap/newgidmap: the setuid programs that write
   * the maps for an unprivileged caller ('' writes them directly).
   */
  id_maps: [uidMap: string, gidMap: string, setgroups: string, newuidmap: string, newgidmap: string];
  /** Create the container's first process in new namespaces (CLONE_NEW* flags), inside the
      cgroup v2 directory given (or '' for none). */
  clone: [flags: number, cgroup2: string];
  setsid: [];
  /** Join a new session keyring of this name. */
  session_keyring: [name: string];
  /** Propagation flags on a host path (before rootfs) or a container path (after). */
  propagate: [path: string, flags: number];
  rootfs: [path: string];
  /** copyUp 1 (tmpcopyup): a tmpfs that starts with the contents of the directory it covers. */
  mount: [source: string, dest: string, fstype: string, flags: number, data: string, copyUp?: number];
  remount: [dest: string, flags: number, data: string];
  remount_readonly: [dest: string];
  mkdirs: [path: string];
  /** mode includes the file type bits. */
  mknod: [dest: string, mode: number, major: number, minor: number, uid: number, gid: number];
  symlink: [target: string, dest: string];
  pivot_root: [];
  /** chroot into the rootfs; `move` first moves its mount onto / (never in the host's mount namespace). */
  chroot: [move: number];
  /** Open a pty and send its master over the unix socket at fd. */
  console: [fd: number, rows: number, columns: number];
  /** Bind the terminal `console` opened onto /dev/console. */
  dev_console: [];
  mask: [path: string];
  readonly_path: [path: string];
  hostname: [name: string];
  domainname: [name: string];
  /** path is relative to /proc/sys. */
  sysctl: [path: string, value: string];
  rlimit: [resource: number, soft: bigint, hard: bigint];
  no_new_privs: [];
  chdir: [path: string];
  /** Close (on exec) every fd from `first` up. */
  close_fds: [first: number];
  /** groups: comma-separated; capability sets: 64-bit masks. */
  credentials: [uid: number, gid: number, groups: string, bounding: bigint, effective: bigint, permitted: bigint, inheritable: bigint, ambient: bigint];
  umask: [mode: number];
  /** Resolve the program with the container's PATH (fails create when it is missing). */
  find_program: [name: string, searchPath: string];
  /**
   * Load a seccomp filter (BPF in hex, SECCOMP_FILTER_FLAG_* flags). With NEW_LISTENER, agentFd is
   * the helper's fd of a connection to the seccomp agent, which gets the listener and
   * agentState (the container process state; see `hook` for the pid); else -1 and ''.
   */
  seccomp: [flags: number, program: string, agentFd: number, agentState: string];
  /** Tell the runtime "sync NAME" and wait for its go-ahead (it runs hooks meanwhile). */
  sync: [name: string];
  /**
   * Run a hook in the container's namespaces: the state JSON (each 0x01 byte becomes the pid)
   * on its stdin, killed after timeout seconds (0: none); label names it in errors.
   */
  hook: [label: string, timeout: number, state: string, path: string, argc: number, ...argvThenEnv: string[]];
  /**
   * Tell the runtime the container is created and wait for its answer (it records the
   * container's state meanwhile); only then stop dying with it.
   */
  ready: [];
  /** The program runs in the runtime's foreground: it dies with the runtime (set at exec). */
  foreground: [];
  /** Block until `start` connects. */
  wait_start: [];
  /** argc, then argv, then the environment. */
  exec: [argc: number, ...argvThenEnv: string[]];
}

export type OpName = keyof OpArgs;
export type Op = { [K in OpName]: [K, ...OpArgs[K]] }[OpName];

function field(value: string | number | bigint): string {
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`plan: ${value} is not an integer`);
    return String(value);
  }
  if (value.includes('\0')) throw new TypeError('plan: a string holds NUL');
  return value;
}

/** The plan as the helper reads it: a 4-byte little-endian length, then `NAME\0COUNT\0ARGS…\0` per op. */
export function encodePlan(ops: readonly Op[]): Buffer {
  const fields: string[] = [];
  for (const [name, ...args] of ops) {
    // An optional argument left out is absent, not undefined: the count says how many there are.
    const given = args as (string | number | bigint)[];
    fields.push(name, String(given.length), ...given.map(field));
  }
  const body = Buffer.from(`${fields.join('\0')}\0`);
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.length);
  return Buffer.concat([header, body]);
}
