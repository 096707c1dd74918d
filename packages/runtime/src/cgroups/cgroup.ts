/**
 * The container's cgroup: created in every hierarchy (so it is whole in each), limits written
 * before the container's first process joins it, its processes listed, and removed on delete.
 *
 * cgroupfs calls are synchronous on purpose: they are in-kernel and take microseconds, less
 * than a trip through libuv's thread pool.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { requireAddon } from '@oci/native';
import type { DeviceRule, Resources } from '@oci/specs';
import { invalid, RuntimeError } from '../errors.js';
import { deviceFilterProgram } from './device-filter.js';
import { type FreezerRecord, freezerFor, goneCgroup } from './freezer.js';
import { type Hierarchy, hierarchyOf, type Layout } from './layout.js';
import { network, v1Writes } from './v1.js';
import { v2Writes } from './v2.js';
import type { CgroupWrite } from './writes.js';

/** What delete needs, kept in the container's state. */
export interface CgroupRecord {
  /** The container's cgroup in each hierarchy. */
  dirs: string[];
  /** The one among dirs in the v2 hierarchy, if there is one. */
  unified?: string;
  /** Directories made for it, parents before children: removed on delete when empty. */
  created: string[];
  /** What pauses it (absent on a host without a freezer). */
  freezer?: FreezerRecord;
}

/** The container's directory in a hierarchy: an absolute cgroupsPath from the hierarchy's root,
    a relative one from this process's own cgroup (as runc does). */
export function cgroupDir(layout: Layout, h: Hierarchy, cgroupsPath: string): string {
  const base = cgroupsPath.startsWith('/') ? '/' : (layout.own.get(h.key) ?? '/');
  const full = path.posix.join('/', base, cgroupsPath);
  const inside = path.posix.relative(h.mountRoot, full);
  // '...' is a name like any other (runc's ids allow it): only '..' itself climbs.
  if (inside === '' || inside === '..' || inside.startsWith('../'))
    throw invalid(`linux.cgroupsPath ${JSON.stringify(cgroupsPath)} is outside the cgroup hierarchy mounted at ${h.mountPoint}`);
  return path.join(h.mountPoint, inside);
}

/** v2 names io what v1 names blkio. */
const V1_NAME: Readonly<Record<string, string>> = { io: 'blkio' };

/** v1 controllers that v2 has no counterpart for: without them mounted, their limits cannot be set. */
const V1_ONLY = new Set(['net_cls', 'net_prio']);

/**
 * Each limit routed to the hierarchy that enforces its controller: v1 where mounted, else v2. A
 * limit no hierarchy can enforce is refused (runc refuses it too), never dropped.
 */
export function plannedWrites(layout: Layout, resources: Resources, deviceRules: readonly DeviceRule[]): { hierarchy: Hierarchy; write: CgroupWrite }[] {
  const v1Controllers = new Set(layout.hierarchies.filter((h) => h.version === 1).flatMap((h) => h.controllers));
  const v2 = layout.hierarchies.find((h) => h.version === 2);
  const out: { hierarchy: Hierarchy; write: CgroupWrite }[] = [];
  // Without v1, what only v1 could enforce is still asked for: it is refused below.
  const v1 = v1Controllers.size > 0 ? v1Writes(resources, deviceRules) : network(resources);
  for (const w of v1) {
    if (v1Controllers.has(w.controller)) out.push({ hierarchy: hierarchyOf(layout, w.controller)!, write: w });
    // Without a v1 devices controller, v2 enforces device rules with an eBPF program instead.
    else if (V1_ONLY.has(w.controller) || (!v2 && (w.controller !== 'devices' || v1Controllers.size === 0))) throw unavailable(w);
  }
  if (v2) {
    for (const w of v2Writes(resources)) {
      if (v1Controllers.has(V1_NAME[w.controller] ?? w.controller)) continue;
      if (!v2.controllers.includes(w.controller)) throw unavailable(w);
      out.push({ hierarchy: v2, write: w });
    }
  }
  return out;
}

const unavailable = (w: CgroupWrite) =>
  new RuntimeError(
    'EINVALID',
    `linux.resources${w.field ? `.${w.field}` : ''}: ${w.file} needs the ${w.controller} cgroup controller, which this host does not have`,
  );

/**
 * The container's cgroup before anything is made: where its directories go (those that do not
 * exist yet are the ones `makeCgroup` will make, and delete remove) and what its limits write,
 * all checked. A create records it before it makes anything, so that a create killed midway
 * leaves nothing that delete --force cannot find.
 */
export interface PlannedCgroup {
  record: CgroupRecord;
  dirs: ReadonlyMap<Hierarchy, string>;
  writes: { hierarchy: Hierarchy; write: CgroupWrite }[];
  layout: Layout;
  deviceRules: readonly DeviceRule[];
}

export function planCgroup(layout: Layout, cgroupsPath: string, resources: Resources, deviceRules: readonly DeviceRule[]): PlannedCgroup {
  if (layout.hierarchies.length === 0) throw new RuntimeError('ECREATE', 'no cgroup hierarchy is mounted');
  const writes = plannedWrites(layout, resources, deviceRules);
  const dirs = new Map(layout.hierarchies.map((h) => [h, cgroupDir(layout, h, cgroupsPath)]));
  const v2 = layout.hierarchies.find((h) => h.version === 2);
  const created = [...new Set([...dirs.values()].flatMap(missingDirs))];
  return { record: { dirs: [...dirs.values()], ...(v2 && { unified: dirs.get(v2) }), created }, dirs, writes, layout, deviceRules };
}

/** Makes the planned cgroup: its directories, limits, device filter; undone if any step fails. */
export async function makeCgroup({ record: planned, dirs, writes, layout, deviceRules }: PlannedCgroup): Promise<CgroupRecord> {
  const v2 = layout.hierarchies.find((h) => h.version === 2);
  const record: CgroupRecord = { ...planned, created: [] };
  try {
    for (const [h, dir] of dirs) {
      const made = makeDirs(dir);
      record.created.push(...made);
      if (h.controllers.includes('cpuset') && h.version === 1) inheritCpuset(made);
    }
    if (v2) enableControllers(v2, dirs.get(v2)!, new Set(writes.filter((w) => w.hierarchy === v2).map((w) => w.write.controller)));
    writeCgroupFiles(writes.map(({ hierarchy, write }) => ({ dir: dirs.get(hierarchy)!, write })));
    if (v2 && deviceRules.length > 0 && !hierarchyOf(layout, 'devices')) filterDevices(dirs.get(v2)!, deviceRules);
    const freezer = freezerFor(controllerDir(layout, record, 'freezer'), record.unified);
    if (freezer) record.freezer = freezer;
  } catch (error) {
    await removeCgroup(record);
    throw error;
  }
  return record;
}

/** `dir` and its ancestors that do not exist, parents first. */
function missingDirs(dir: string): string[] {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = path.dirname(d)) missing.unshift(d);
  return missing;
}

/** mkdir -p, returning the directories it made, parents first. */
function makeDirs(dir: string): string[] {
  const first = mkdirSync(dir, { recursive: true });
  if (first === undefined) return [];
  const made = [dir];
  for (let d = dir; d !== first; d = path.dirname(d)) made.unshift(path.dirname(d));
  return made;
}

/** A new v1 cpuset cgroup starts with no cpus and no mems, and refuses tasks until given some. */
function inheritCpuset(made: readonly string[]): void {
  for (const dir of made) {
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (readFileSync(path.join(dir, file), 'utf8').trim() !== '') continue;
      writeFileSync(path.join(dir, file), readFileSync(path.join(path.dirname(dir), file), 'utf8').trim());
    }
  }
}

/** v2 controllers act in a cgroup only when every ancestor enables them for its children. */
function enableControllers(h: Hierarchy, dir: string, controllers: ReadonlySet<string>): void {
  if (controllers.size === 0) return;
  const ancestors: string[] = [];
  for (let d = path.dirname(dir); d.startsWith(h.mountPoint); d = path.dirname(d)) {
    ancestors.unshift(d);
    if (d === h.mountPoint) break;
  }
  for (const ancestor of ancestors) {
    const file = path.join(ancestor, 'cgroup.subtree_control');
    const enabled = new Set(readFileSync(file, 'utf8').split(/\s+/));
    for (const controller of controllers) {
      if (enabled.has(controller)) continue;
      try {
        writeFileSync(file, `+${controller}`);
      } catch (error) {
        throw new RuntimeError('ECREATE', `enable the ${controller} controller in ${ancestor}: ${(error as NodeJS.ErrnoException).code}`, { cause: error });
      }
    }
  }
}

function filterDevices(dir: string, rules: readonly DeviceRule[]): void {
  try {
    requireAddon().attachDeviceFilter(dir, deviceFilterProgram(rules));
  } catch (error) {
    throw new RuntimeError('ECREATE', `cgroup: attach the device filter to ${dir}: ${(error as NodeJS.ErrnoException).code}`, { cause: error });
  }
}

/**
 * The limits, in order. Consecutive writes to one file share one open: devices.allow takes one
 * rule per write(2), a container has a dozen, and opening a cgroup file costs more than writing it.
 */
function writeCgroupFiles(writes: readonly { dir: string; write: CgroupWrite }[]): void {
  for (let first = 0; first < writes.length; ) {
    const { dir, write } = writes[first]!;
    let end = first + 1;
    while (end < writes.length && writes[end]!.dir === dir && writes[end]!.write.file === write.file) end++;
    writeCgroupFile(
      dir,
      write.file,
      writes.slice(first, end).map((w) => w.write.value),
      write.otherwise,
    );
    first = end;
  }
}

function writeCgroupFile(dir: string, file: string, values: readonly string[], otherwise?: string): void {
  let fd: number;
  try {
    // Not created when missing: a cgroup file is the kernel's, and a missing one means the
    // controller lacks the feature (O_CREAT would fail with EACCES and hide why).
    fd = openSync(path.join(dir, file), 'r+');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && otherwise) return writeCgroupFile(dir, otherwise, values);
    throw cgroupWriteFailed(values[0]!, file, error);
  }
  try {
    for (const value of values) {
      try {
        writeSync(fd, value);
      } catch (error) {
        throw cgroupWriteFailed(value, file, error);
      }
    }
  } finally {
    closeSync(fd);
  }
}

const cgroupWriteFailed = (value: string, file: string, error: unknown) =>
  new RuntimeError('ECREATE', `cgroup: write ${value} to ${file}: ${(error as NodeJS.ErrnoException).code}`, { cause: error });

/** The container's directory in the hierarchy that enforces `controller` (v1 first, as limits are routed). */
export function controllerDir(layout: Layout, record: CgroupRecord, controller: string): string | undefined {
  const h = hierarchyOf(layout, controller);
  return h && dirFor(record, h);
}

/** The container's directory in a hierarchy. */
export function dirFor(record: CgroupRecord, h: Hierarchy): string | undefined {
  return record.dirs.find((dir) => dir === h.mountPoint || dir.startsWith(`${h.mountPoint}/`));
}

/** Pids of the processes in the container's cgroup. */
export function cgroupPids(record: CgroupRecord): number[] {
  if (record.dirs.length === 0) return []; // rootless, without a cgroup
  try {
    return readFileSync(path.join(record.dirs[0]!, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch (error) {
    if (goneCgroup(error)) return [];
    throw error;
  }
}

/**
 * Removes the container's cgroups. A cgroup whose last process is still exiting answers EBUSY
 * for a moment: retried briefly. Parents made for it go too when nothing else uses them.
 */
export async function removeCgroup(record: CgroupRecord): Promise<void> {
  const leaves = new Set(record.dirs);
  for (const dir of record.dirs) await removeDir(dir, 200);
  for (const dir of [...record.created].reverse()) if (!leaves.has(dir)) await removeDir(dir, 0);
}

async function removeDir(dir: string, retries: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code === 'EBUSY' && attempt < retries) {
        await setTimeout(5);
        continue;
      }
      if (retries === 0 && (code === 'EBUSY' || code === 'ENOTEMPTY')) return; // a parent others still use
      throw new RuntimeError('ESTATE', `remove cgroup ${dir}: ${code}`, { cause: error });
    }
  }
}
