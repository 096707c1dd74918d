/**
 * /dev: the devices every container gets (runc's list), those of linux.devices, and the
 * standard symlinks; plus the device cgroup rules that let the container use them.
 */
import type { Device, DeviceRule, Spec } from '@oci/specs';
import type { Op } from './ops.js';

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

const DEFAULT_DEVICES: readonly Device[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0 },
].map((d) => ({ ...d, type: 'c' as const, fileMode: 0o666, uid: 0, gid: 0 }));

/** What every container may use besides its own devices (runc's AllowedDevices). */
const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  { allow: true, type: 'c', major: null, minor: null, access: 'm' },
  { allow: true, type: 'b', major: null, minor: null, access: 'm' },
  ...DEFAULT_DEVICES.map((d): DeviceRule => ({ allow: true, type: 'c', major: d.major!, minor: d.minor!, access: 'rwm' })),
  { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
];

/** Devices to create: the defaults, unless linux.devices names the same path, then linux.devices. */
export function devicesOf(spec: Spec): Device[] {
  const own = spec.linux?.devices ?? [];
  const paths = new Set(own.map((d) => d.path));
  return [...DEFAULT_DEVICES.filter((d) => !paths.has(d.path)), ...own];
}

function fileType(type: Device['type']): number {
  return type === 'b' ? S_IFBLK : type === 'p' ? S_IFIFO : S_IFCHR;
}

/** The device cgroup rules, in the order they are applied: config.json's, an allow for each
    of its devices, then the defaults. */
export function deviceRules(spec: Spec): DeviceRule[] {
  const own = (spec.linux?.devices ?? []).filter((d) => d.type !== 'p');
  return [
    ...(spec.linux?.resources?.devices ?? []),
    ...own.map((d): DeviceRule => ({ allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major!, minor: d.minor!, access: 'rwm' })),
    ...DEFAULT_DEVICE_RULES,
  ];
}

export interface DevOptions {
  /** /proc/kcore exists on the host: /dev/core points to it, as in runc. */
  kcore: boolean;
  /**
   * Bind the host's device nodes rather than make them: in a user namespace mknod is refused
   * (runc binds too; their mode and owner are then the host's).
   */
  bind?: boolean;
}

const MS_BIND = 0x1000;

/** mknod (or bind) and symlink ops for /dev, run before pivot_root. */
export function devOps(spec: Spec, { kcore, bind = false }: DevOptions): Op[] {
  const ops: Op[] = devicesOf(spec).map(
    (d): Op =>
      bind
        ? ['mount', d.path, d.path, '', MS_BIND, '']
        : ['mknod', d.path, fileType(d.type) | ((d.fileMode ?? 0o666) & 0o7777), d.major ?? 0, d.minor ?? 0, d.uid ?? 0, d.gid ?? 0],
  );
  const links: [string, string][] = [
    ['/proc/self/fd', '/dev/fd'],
    ['/proc/self/fd/0', '/dev/stdin'],
    ['/proc/self/fd/1', '/dev/stdout'],
    ['/proc/self/fd/2', '/dev/stderr'],
    ['pts/ptmx', '/dev/ptmx'],
  ];
  if (kcore) links.push(['/proc/kcore', '/dev/core']);
  for (const [target, dest] of links) ops.push(['symlink', target, dest]);
  return ops;
}
