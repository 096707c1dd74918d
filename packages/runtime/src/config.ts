/**
 * Reading a bundle's config.json and refusing what the runtime cannot run faithfully: an
 * unknown version, missing or mistyped fields, relative paths where the spec wants absolute
 * ones. Everything later (the plan, cgroups) may assume what is checked here.
 */
import { readFileSync, type Stats, statSync } from 'node:fs';
import path from 'node:path';
import type { Namespace, NamespaceType, Process, Resources, Spec } from '@oci/specs';
import { invalid, RuntimeError } from './errors.js';
import { checkHooks } from './hooks.js';
import { isMapped } from './plan/userns.js';

export interface Bundle {
  /** Absolute path of the bundle directory. */
  readonly dir: string;
  /** Absolute path of the root filesystem. */
  readonly rootfs: string;
  readonly spec: Spec;
}

/** Runtime-spec versions this runtime runs: 1.x (runc spec writes 1.0.2-dev). */
const SUPPORTED_VERSION = /^1\.\d+\.\d+(?:-[\w.-]+)?$/;

export const NAMESPACE_TYPES: readonly NamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'];

/** Synchronous: two small reads, cheaper than trips through the thread pool on create's hot path. */
export function loadBundle(bundleDir: string): Bundle {
  const dir = path.resolve(bundleDir);
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw invalid(`bundle ${dir}: config.json does not exist`);
    throw invalid(`bundle ${dir}: config.json: ${code ?? error}`);
  }
  let spec: Spec;
  try {
    spec = JSON.parse(text) as Spec;
  } catch (error) {
    throw invalid(`${file}: not valid JSON: ${(error as Error).message}`);
  }
  const problem = checkSpec(spec);
  if (problem) throw invalid(`${file}: ${problem}`);
  const rootfs = path.resolve(dir, spec.root!.path);
  let info: Stats;
  try {
    info = statSync(rootfs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw invalid(`rootfs ${rootfs} does not exist`);
    throw new RuntimeError('EINVALID', `rootfs ${rootfs}: ${code}`, { cause: error });
  }
  if (!info.isDirectory()) throw invalid(`rootfs ${rootfs} is not a directory`);
  return { dir, rootfs, spec };
}

/** The first thing wrong with the spec, as a phrase, or undefined. */
export function checkSpec(spec: Spec): string | undefined {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return 'not a JSON object';
  if (typeof spec.ociVersion !== 'string') return 'ociVersion is missing';
  if (!SUPPORTED_VERSION.test(spec.ociVersion)) return `ociVersion '${spec.ociVersion}' is not supported (this runtime runs 1.x)`;
  const shape = checkStrings(spec);
  if (shape) return shape;
  if (typeof spec.root?.path !== 'string' || spec.root.path === '') return 'root.path is missing';
  return checkProcess(spec.process) ?? checkMounts(spec) ?? checkLinux(spec) ?? checkUserNamespace(spec) ?? checkHooks(spec.hooks);
}

/** Far deeper than any real config (runc's is 6 levels); deeper ones only serve to exhaust the stack. */
const MAX_DEPTH = 64;

/**
 * A NUL in any string (the helper's plan is NUL-separated; no field of a real config holds one),
 * or nesting past MAX_DEPTH (JSON.stringify of it, here or later, overflows the stack). Walked
 * without recursion, so any depth is safe to look at.
 */
function checkStrings(value: unknown): string | undefined {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item === 'string' && item.includes('\0')) return 'a string holds a NUL character';
    if (typeof item !== 'object' || item === null) continue;
    if (depth === MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels`;
    for (const [key, child] of Object.entries(item)) pending.push([key, depth + 1], [child, depth + 1]);
  }
  return undefined;
}

const isAbsolute = (p: unknown): p is string => typeof p === 'string' && p.startsWith('/');
const notAbsolute = (where: string, p: unknown) => `${where}: '${String(p)}' is not an absolute path`;
const isOptionalList = (v: unknown) => v === undefined || Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isId = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

/** The first thing wrong with a process (config.json's, or one to exec), as a phrase, or undefined. */
export function checkProcess(process: Process | undefined): string | undefined {
  if (process === undefined) return 'process is missing';
  if (typeof process !== 'object' || process === null || Array.isArray(process)) return 'process is not a JSON object';
  const shape = checkStrings(process);
  if (shape) return shape;
  if (!isStrings(process.args) || process.args.length === 0) return 'process.args must list the program and its arguments';
  if (!isAbsolute(process.cwd)) return notAbsolute('process.cwd', process.cwd);
  if (process.env !== undefined && !isStrings(process.env)) return 'process.env must be a list of strings';
  const user = process.user;
  if (!user || !isId(user.uid) || !isId(user.gid)) return 'process.user needs numeric uid and gid';
  if (user.additionalGids !== undefined && !(Array.isArray(user.additionalGids) && user.additionalGids.every(isId)))
    return 'process.user.additionalGids must be a list of gids';
  for (const [set, names] of Object.entries(process.capabilities ?? {})) if (!isStrings(names)) return `process.capabilities.${set} must be a list of names`;
  if (!isOptionalList(process.rlimits)) return 'process.rlimits must be a list';
  for (const [i, r] of (process.rlimits ?? []).entries())
    if (typeof r?.type !== 'string' || !Number.isInteger(r.soft) || !Number.isInteger(r.hard) || r.soft < 0 || r.hard < 0)
      return `process.rlimits[${i}] needs a type and integer soft and hard limits`;
  // Asked-for confinement that cannot be given is refused (as runc does where the host lacks
  // the LSM), never dropped: the process would run unconfined.
  if (process.apparmorProfile) return 'process.apparmorProfile is set, but oci does not apply AppArmor profiles: the process would run unconfined';
  if (process.selinuxLabel) return 'process.selinuxLabel is set, but oci does not apply SELinux labels: the process would run unlabelled';
  return undefined;
}

function checkMounts({ mounts = [] }: Spec): string | undefined {
  if (!Array.isArray(mounts)) return 'mounts must be a list';
  for (const [i, m] of mounts.entries()) {
    if (!isAbsolute(m?.destination)) return notAbsolute(`mounts[${i}].destination`, m?.destination);
    if (m.options !== undefined && !isStrings(m.options)) return `mounts[${i}].options must be a list of strings`;
  }
  return undefined;
}

function checkLinux({ linux, hostname, domainname }: Spec): string | undefined {
  if (!linux) return 'linux is missing';
  for (const field of ['namespaces', 'devices'] as const) if (!isOptionalList(linux[field])) return `linux.${field} must be a list`;
  const namespaces: Namespace[] = linux.namespaces ?? [];
  const seen = new Set<string>();
  for (const [i, ns] of namespaces.entries()) {
    if (!NAMESPACE_TYPES.includes(ns?.type)) return `linux.namespaces[${i}]: unknown type '${ns?.type}'`;
    if (seen.has(ns.type)) return `linux.namespaces: '${ns.type}' is listed twice`;
    seen.add(ns.type);
    if (ns.path !== undefined && !isAbsolute(ns.path)) return notAbsolute(`linux.namespaces[${i}].path`, ns.path);
  }
  if ((hostname || domainname) && !seen.has('uts')) return 'hostname needs a uts namespace';
  if (linux.mountLabel) return 'linux.mountLabel is set, but oci does not apply SELinux labels: the mounts would be unlabelled';
  for (const field of ['maskedPaths', 'readonlyPaths'] as const) {
    const paths = linux[field] ?? [];
    if (!isStrings(paths)) return `linux.${field} must be a list of paths`;
    const bad = paths.find((p) => !isAbsolute(p));
    if (bad !== undefined) return notAbsolute(`linux.${field}`, bad);
    // Masking in the host's mount namespace would mask the host's own /proc and /sys.
    if (paths.length > 0 && !seen.has('mount')) return `linux.${field} needs a mount namespace`;
  }
  for (const [i, d] of (linux.devices ?? []).entries()) {
    if (!isAbsolute(d?.path)) return notAbsolute(`linux.devices[${i}].path`, d?.path);
    if (!['c', 'b', 'u', 'p'].includes(d.type)) return `linux.devices[${i}]: unknown type '${d.type}'`;
    if (d.type !== 'p' && (!Number.isInteger(d.major) || !Number.isInteger(d.minor))) return `linux.devices[${i}] needs major and minor numbers`;
  }
  if (linux.cgroupsPath !== undefined && typeof linux.cgroupsPath !== 'string') return 'linux.cgroupsPath must be a string';
  if (linux.resources !== undefined) {
    const problem = checkResources(linux.resources);
    if (problem) return `linux.resources: ${problem}`;
  }
  return undefined;
}

/**
 * User namespaces: well-formed maps, present exactly when a new user namespace is made, and
 * mapping the ids the process runs as (else setresuid would fail with a bare EINVAL).
 */
function checkUserNamespace({ linux, process }: Spec): string | undefined {
  const userns = linux?.namespaces?.find((ns) => ns.type === 'user');
  const fresh = userns !== undefined && userns.path === undefined;
  for (const field of ['uidMappings', 'gidMappings'] as const) {
    const maps = linux?.[field];
    if (maps === undefined) continue;
    if (!Array.isArray(maps)) return `linux.${field} must be a list`;
    // The kernel takes 340 lines per map.
    if (maps.length > 340) return `linux.${field} has ${maps.length} ranges; the kernel takes at most 340`;
    for (const [i, m] of maps.entries())
      if (!isId(m?.containerID) || !isId(m.hostID) || !Number.isInteger(m.size) || m.size < 1)
        return `linux.${field}[${i}] needs containerID, hostID and a size above 0`;
    if (maps.length > 0 && !fresh) return `linux.${field} need a new user namespace (a linux.namespaces entry of type user, without a path)`;
  }
  if (!fresh) return undefined;
  const uids = linux!.uidMappings ?? [];
  const gids = linux!.gidMappings ?? [];
  if (uids.length === 0 || gids.length === 0) return 'a new user namespace needs linux.uidMappings and linux.gidMappings';
  const user = process!.user;
  if (!isMapped(uids, user.uid)) return `process.user.uid ${user.uid} is not mapped by linux.uidMappings`;
  for (const gid of [user.gid, ...(user.additionalGids ?? [])])
    if (!isMapped(gids, gid)) return `gid ${gid} of process.user is not mapped by linux.gidMappings`;
  return undefined;
}

const INTEGER_FIELDS = {
  memory: ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP', 'swappiness'],
  cpu: ['shares', 'quota', 'burst', 'period', 'realtimeRuntime', 'realtimePeriod', 'idle'],
  blockIO: ['weight', 'leafWeight'],
  pids: ['limit'],
} as const;

/** The first mistyped field of linux.resources (a limit that is not an integer…), as a phrase. */
export function checkResources(resources: Resources): string | undefined {
  if (typeof resources !== 'object' || resources === null || Array.isArray(resources)) return 'not an object';
  for (const [group, fields] of Object.entries(INTEGER_FIELDS)) {
    const values = resources[group as keyof typeof INTEGER_FIELDS] as Record<string, unknown> | undefined;
    if (values === undefined || values === null) continue;
    if (typeof values !== 'object') return `${group} must be an object`;
    for (const field of fields) {
      const value = values[field];
      if (value !== undefined && value !== null && !Number.isSafeInteger(value)) return `${group}.${field} must be an integer (got ${JSON.stringify(value)})`;
    }
  }
  for (const field of ['cpus', 'mems'] as const) {
    const value = resources.cpu?.[field];
    if (value !== undefined && typeof value !== 'string') return `cpu.${field} must be a string like "0-3,5"`;
  }
  if (!isOptionalList(resources.hugepageLimits)) return 'hugepageLimits must be a list';
  for (const [i, h] of (resources.hugepageLimits ?? []).entries())
    if (typeof h?.pageSize !== 'string' || !Number.isSafeInteger(h.limit)) return `hugepageLimits[${i}] needs a pageSize and an integer limit`;
  return undefined;
}
