/**
 * The helper's plan: the ops it runs, in order, and their wire format (the C side is
 * packages/native/src/helper/plan.c). A plan is a program the runtime writes; the helper only
 * executes it, so every decision (what to mount, in which order, which capabilities) is here,
 * in TypeScript, where it can be checked and tested without starting a container.
 *
 * Ops before `clone` run in the helper process (it joins cgroups and namespaces there); ops
 * after it run in the container's first process.
 *
 * OP_SIGNATURES is the protocol: each op's arguments, one letter each (s a string, i a signed
 * number, u an unsigned one, x a 64-bit mask as a bigint; after '|' those that may be left out;
 * a final '*' any number of strings). The TypeScript types of the ops are derived from it, plan.c's
 * table holds the same letters (a test compares the two), and the helper checks every argument
 * against them before an op runs. HELPER_PROTOCOL changes with any change to it.
 */
export const HELPER_PROTOCOL = 1;

export const OP_SIGNATURES = {
  /** The plan's first op: the protocol it is written in. */
  protocol: 'u',
  /** Join a v1 cgroup directory. */
  cgroup: 's',
  /** oom_score_adj SCORE */
  oom_score_adj: 'i',
  /** Join the namespace at PATH; TYPE is its CLONE_NEW* flag. */
  setns: 'su',
  /** A new time namespace for what `clone` creates, with its offsets: monotonic s, ns, boottime s, ns. */
  timens: 'iiii',
  /** The running container `join` enters: its first process PID, checked by its START TIME. */
  container: 'is',
  /** Enter the namespaces (CLONE_NEW* FLAGS) of the `container`. */
  join: 'u',
  /** Listen on DIR/NAME for `start` (see start.c). */
  start_socket: 'ss',
  /**
   * UID MAP, GID MAP ("ID HOSTID SIZE" lines) of the user namespace the next `clone` creates,
   * written by the helper's side before the container's process goes on; SETGROUPS: what
   * /proc/PID/setgroups gets ('' leaves it); NEWUIDMAP, NEWGIDMAP: the setuid programs that write
   * the maps for an unprivileged caller ('' writes them directly).
   */
  id_maps: 'sssss',
  /** Create the container's first process in new namespaces (CLONE_NEW* FLAGS), inside the
      cgroup v2 directory given (or '' for none). */
  clone: 'us',
  setsid: '',
  /** Join a new session keyring of this NAME. */
  session_keyring: 's',
  /** Propagation FLAGS on a host PATH (before rootfs) or a container path (after). */
  propagate: 'su',
  /** rootfs PATH */
  rootfs: 's',
  /** SOURCE DEST FSTYPE FLAGS DATA [COPY_UP]: copy-up 1 (tmpcopyup) is a tmpfs that starts with
      the contents of the directory it covers. */
  mount: 'sssus|u',
  /** DEST FLAGS DATA */
  remount: 'sus',
  remount_readonly: 's',
  mkdirs: 's',
  /** DEST MODE (with the file type bits) MAJOR MINOR UID GID */
  mknod: 'suuuuu',
  /** TARGET DEST */
  symlink: 'ss',
  pivot_root: '',
  /** chroot into the rootfs; MOVE 1 first moves its mount onto / (never in the host's mount namespace). */
  chroot: 'u',
  /** Open a pty and send its master over the unix socket at FD; ROWS, COLUMNS. */
  console: 'uuu',
  /** Bind the terminal `console` opened onto /dev/console. */
  dev_console: '',
  mask: 's',
  readonly_path: 's',
  hostname: 's',
  domainname: 's',
  /** PATH (relative to /proc/sys) VALUE */
  sysctl: 'ss',
  /** RESOURCE SOFT HARD */
  rlimit: 'uxx',
  no_new_privs: '',
  chdir: 's',
  /** Close (on exec) every fd from FIRST up. */
  close_fds: 'u',
  /** UID GID GROUPS (comma-separated) and the capability sets: bounding, effective, permitted, inheritable, ambient. */
  credentials: 'uusxxxxx',
  umask: 'u',
  /** Resolve the program NAME with the container's PATH (fails create when it is missing). */
  find_program: 'ss',
  /**
   * Load a seccomp filter: SECCOMP_FILTER_FLAG_* FLAGS, the BPF PROGRAM in hex; with
   * NEW_LISTENER, AGENT FD is the helper's fd of a connection to the seccomp agent, which gets
   * the listener and AGENT STATE (the container process state; see `hook` for the pid); else -1
   * and ''.
   */
  seccomp: 'usis',
  /** Tell the runtime "sync NAME" and wait for its go-ahead (it runs hooks meanwhile). */
  sync: 's',
  /**
   * LABEL TIMEOUT STATE PATH ARGC ARGV… ENV…: run a hook in the container's namespaces, the state
   * JSON (each 0x01 byte becomes the pid) on its stdin, killed after TIMEOUT seconds (0: none);
   * LABEL names it in errors.
   */
  hook: 'sissi*',
  /**
   * Tell the runtime the container is created and wait for its answer (it records the
   * container's state meanwhile); only then stop dying with it.
   */
  ready: '',
  /** The program runs in the runtime's foreground: it dies with the runtime (set at exec). */
  foreground: '',
  /** Block until `start` connects. */
  wait_start: '',
  /** ARGC, then argv, then the environment. */
  exec: 'i*',
} as const;

type Signatures = typeof OP_SIGNATURES;
type ArgOf<Letter extends string> = Letter extends 's' ? string : Letter extends 'x' ? bigint : number;
/** An op's arguments as a tuple type, read from its signature. */
type ArgsOf<Signature extends string, Optional extends boolean = false> = Signature extends ''
  ? []
  : Signature extends '*'
    ? string[]
    : Signature extends `|${infer Rest}`
      ? ArgsOf<Rest, true>
      : Signature extends `${infer Letter}${infer Rest}`
        ? Optional extends true
          ? [ArgOf<Letter>?, ...ArgsOf<Rest, true>]
          : [ArgOf<Letter>, ...ArgsOf<Rest>]
        : never;

export type OpArgs = { [Name in keyof Signatures]: ArgsOf<Signatures[Name]> };

export type OpName = keyof OpArgs;
export type Op = { [K in OpName]: [K, ...OpArgs[K]] }[OpName];

/** One argument on the wire, checked against its signature letter. */
function field(name: string, letter: string, value: unknown): string {
  const bad = () => new TypeError(`plan: op '${name}': ${String(value)} is not what its signature says ('${letter}')`);
  switch (letter) {
    case 'x':
      if (typeof value !== 'bigint' || value < 0n) throw bad();
      return `0x${value.toString(16)}`;
    case 'i':
    case 'u':
      if (!Number.isSafeInteger(value) || (letter === 'u' && (value as number) < 0)) throw bad();
      return String(value);
    default:
      if (typeof value !== 'string') throw bad();
      if (value.includes('\0')) throw new TypeError(`plan: op '${name}': a string holds NUL`);
      return value;
  }
}

/** The letter of the argument at `index` of an op with this signature (every later one is a string after '*'). */
function letterAt(signature: string, index: number): string | undefined {
  const letters = signature.replace('|', '');
  return letters.endsWith('*') && index >= letters.length - 1 ? 's' : letters[index];
}

/**
 * The plan as the helper reads it: a 4-byte little-endian length, then `NAME\0COUNT\0ARGS…\0`
 * per op, the first op saying the protocol it is written in.
 */
export function encodePlan(ops: readonly Op[]): Buffer {
  const fields: string[] = [];
  for (const [name, ...args] of [['protocol', HELPER_PROTOCOL] as Op, ...ops]) {
    // An optional argument left out is absent, not undefined: the count says how many there are.
    const signature: string = OP_SIGNATURES[name];
    const required = signature.split('|')[0]!.replace('*', '').length;
    if (args.length < required || (letterAt(signature, args.length - 1) === undefined && args.length > 0))
      throw new TypeError(`plan: op '${name}' takes '${signature}', got ${args.length} arguments`);
    fields.push(name, String(args.length), ...args.map((value, i) => field(name, letterAt(signature, i)!, value)));
  }
  const body = Buffer.from(`${fields.join('\0')}\0`);
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.length);
  return Buffer.concat([header, body]);
}
