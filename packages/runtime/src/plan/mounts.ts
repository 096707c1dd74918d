/**
 * config.json mounts as helper ops: option strings to mount(2) flags, propagation and data
 * (runc's table), bind mounts followed by the remount that makes their flags real, /dev kept
 * writable until its devices exist, and the `cgroup` type expanded per hierarchy.
 */
import path from 'node:path';
import type { Mount } from '@oci/specs';
import { invalid } from '../errors.js';
import type { Op } from './ops.js';

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** Options that set (or, with clear, clear) a flag. */
const FLAG_OPTIONS: Readonly<Record<string, { flag: number; clear?: true }>> = {
  async: { flag: MS.SYNCHRONOUS, clear: true },
  atime: { flag: MS.NOATIME, clear: true },
  bind: { flag: MS.BIND },
  defaults: { flag: 0 },
  dev: { flag: MS.NODEV, clear: true },
  diratime: { flag: MS.NODIRATIME, clear: true },
  dirsync: { flag: MS.DIRSYNC },
  exec: { flag: MS.NOEXEC, clear: true },
  lazytime: { flag: MS.LAZYTIME },
  mand: { flag: MS.MANDLOCK },
  noatime: { flag: MS.NOATIME },
  nodev: { flag: MS.NODEV },
  nodiratime: { flag: MS.NODIRATIME },
  noexec: { flag: MS.NOEXEC },
  nolazytime: { flag: MS.LAZYTIME, clear: true },
  nomand: { flag: MS.MANDLOCK, clear: true },
  norelatime: { flag: MS.RELATIME, clear: true },
  nostrictatime: { flag: MS.STRICTATIME, clear: true },
  nosuid: { flag: MS.NOSUID },
  nosymfollow: { flag: MS.NOSYMFOLLOW },
  rbind: { flag: MS.BIND | MS.REC },
  relatime: { flag: MS.RELATIME },
  remount: { flag: MS.REMOUNT },
  ro: { flag: MS.RDONLY },
  rw: { flag: MS.RDONLY, clear: true },
  strictatime: { flag: MS.STRICTATIME },
  suid: { flag: MS.NOSUID, clear: true },
  symfollow: { flag: MS.NOSYMFOLLOW, clear: true },
  sync: { flag: MS.SYNCHRONOUS },
};

export const PROPAGATION: Readonly<Record<string, number>> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** Every mount option this runtime understands (`oci features`). */
export const MOUNT_OPTIONS: readonly string[] = [...Object.keys(FLAG_OPTIONS), ...Object.keys(PROPAGATION), 'tmpcopyup'].sort();

/** Recursive attributes (runtime-spec 1.1) need mount_setattr(2); not built yet. */
const RECURSIVE =
  /^r(?:ro|rw|nosuid|suid|nodev|dev|noexec|exec|noatime|atime|nodiratime|diratime|relatime|norelatime|strictatime|nostrictatime|nosymfollow|symfollow)$/;

export interface MountOptions {
  flags: number;
  propagation: number[];
  /** Filesystem-specific options, comma-joined (mode=755, size=65536k…). */
  data: string;
  /** runc's tmpcopyup (podman's tmpfs mounts): the tmpfs starts with what it covers. */
  copyUp: boolean;
}

export function parseMountOptions(options: readonly string[] = []): MountOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  let copyUp = false;
  for (const option of options) {
    const known = FLAG_OPTIONS[option];
    if (option === 'tmpcopyup') copyUp = true;
    else if (known) flags = known.clear ? flags & ~known.flag : flags | known.flag;
    else if (PROPAGATION[option] !== undefined) propagation.push(PROPAGATION[option]);
    else if (RECURSIVE.test(option)) throw invalid(`mount option '${option}' is not supported yet`);
    else data.push(option);
  }
  return { flags, propagation, data: data.join(','), copyUp };
}

/** Files under /proc a mount may cover (lxcfs and friends do); anything else there could hide
    what masking protects, as runc refuses too. */
const PROC_MOUNTS_ALLOWED = new Set([
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/net/dev',
  '/proc/sys/kernel/ns_last_pid',
]);

export const isBind = (m: Mount, options: MountOptions) => m.type === 'bind' || (options.flags & MS.BIND) !== 0;

/** The destination, cleaned (the helper resolves it inside the root either way). */
export const destinationOf = (m: Mount) => path.posix.normalize(m.destination).replace(/(.)\/$/, '$1');

/** Ops for one mount that is not of type cgroup. */
export function mountOps(m: Mount, bundleDir: string): Op[] {
  const options = parseMountOptions(m.options);
  const dest = destinationOf(m);
  if (dest.startsWith('/proc/') && !PROC_MOUNTS_ALLOWED.has(dest)) throw invalid(`mount on ${dest}: mounts inside /proc are not allowed`);
  if (options.copyUp && (m.type ?? m.source) !== 'tmpfs') throw invalid(`mount on ${dest}: tmpcopyup is for tmpfs mounts only`);
  const ops: Op[] = [];
  if (isBind(m, options)) {
    if (!m.source) throw invalid(`mount on ${dest}: a bind mount needs a source`);
    const flags = options.flags | MS.BIND;
    ops.push(['mount', path.resolve(bundleDir, m.source), dest, '', flags & (MS.BIND | MS.REC), '']);
    // A bind mount takes no flags but MS_BIND and MS_REC: a remount makes ro, nosuid… real.
    if (flags & ~(MS.BIND | MS.REC | MS.REMOUNT)) ops.push(['remount', dest, flags & ~MS.REC, '']);
  } else {
    const type = m.type ?? m.source ?? 'none';
    // /dev stays writable until its devices are made; finishing ops make it read-only.
    const flags = dest === '/dev' ? options.flags & ~MS.RDONLY : options.flags;
    ops.push(options.copyUp ? ['mount', m.source ?? type, dest, type, flags, options.data, 1] : ['mount', m.source ?? type, dest, type, flags, options.data]);
  }
  for (const flags of options.propagation) ops.push(['propagate', dest, flags]);
  return ops;
}

/** A cgroup hierarchy as the container will see it. */
export interface CgroupMountSource {
  /** Name of the directory under the mount's destination: memory, cpu,cpuacct, systemd… */
  name: string;
  /** cgroup or cgroup2 */
  fstype: 'cgroup' | 'cgroup2';
  /** Mount data: the controllers (cpu,cpuacct) or name=systemd; empty for cgroup2. */
  data: string;
  /** The container's cgroup directory on the host, bound when there is no cgroup namespace. */
  hostDir: string;
  /** Other names for a co-mounted hierarchy (cpu and cpuacct for cpu,cpuacct). */
  aliases: string[];
}

/**
 * A `cgroup` mount: cgroup2 at the destination (v2), or a tmpfs holding one mount per v1
 * hierarchy (v1 and hybrid, as runc does; the unified hierarchy of a hybrid host is not shown).
 * With a cgroup namespace the hierarchies are mounted afresh, showing the container's cgroup
 * as their root; without one the container's directories are bound.
 */
export function cgroupMountOps(m: Mount, sources: readonly CgroupMountSource[], cgroupNamespace: boolean): Op[] {
  const options = parseMountOptions(m.options);
  const dest = destinationOf(m);
  const flags = options.flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
  const ops: Op[] = [];
  const mountOne = (source: CgroupMountSource, at: string) => {
    if (cgroupNamespace) {
      ops.push(['mount', source.fstype, at, source.fstype, flags, source.data]);
    } else {
      ops.push(['mount', source.hostDir, at, '', MS.BIND | MS.REC, '']);
      ops.push(['remount', at, flags | MS.BIND, '']);
    }
  };
  if (sources.length === 1 && sources[0]!.fstype === 'cgroup2') {
    mountOne(sources[0]!, dest);
  } else {
    ops.push(['mount', 'tmpfs', dest, 'tmpfs', MS.NOEXEC | MS.NOSUID | MS.NODEV, 'mode=755']);
    for (const source of sources) {
      mountOne(source, `${dest}/${source.name}`);
      for (const alias of source.aliases) ops.push(['symlink', source.name, `${dest}/${alias}`]);
    }
  }
  for (const propagation of options.propagation) ops.push(['propagate', dest, propagation]);
  return ops;
}
