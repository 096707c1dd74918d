/**
 * `update`: new limits written into a live container's cgroups. Only what is given changes: a
 * zero or absent field is left as the kernel has it (runc's rule), and device rules are never
 * touched. What the kernel needs in pairs is completed from its current values: memory+swap
 * needs the memory limit, and v2's cpu.max takes a quota and a period together. A write that
 * fails puts back, newest first, the values written before it.
 */
import { closeSync, constants, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Resources } from '@oci/specs';
import { invalid, RuntimeError } from '../errors.js';
import { type CgroupRecord, controllerDir, dirFor, plannedWrites } from './cgroup.js';
import type { Layout } from './layout.js';
import type { CgroupWrite } from './writes.js';

/** Never O_CREAT: a missing cgroup file is a missing kernel feature (O_TRUNC is harmless on cgroupfs). */
function writeValue(file: string, value: string): void {
  const fd = openSync(file, constants.O_WRONLY | constants.O_TRUNC);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

/** What cgroup files read as "no limit" (v1's memory files hold the page-rounded 2^63-1). */
const UNLIMITED = 2 ** 62;

export function updateCgroup(layout: Layout, record: CgroupRecord, requested: Resources): void {
  const current = new CurrentValues(layout, record);
  const resources = complete(requested, current);
  const writes = plannedWrites(layout, resources, []).map(({ hierarchy, write }) => ({ dir: dirFor(record, hierarchy)!, write }));
  orderMemoryAndSwap(writes, resources, current);
  const done: { file: string; previous: string }[] = [];
  try {
    for (const { dir, write } of writes) {
      const name = existsSync(path.join(dir, write.file)) || !write.otherwise ? write.file : write.otherwise;
      const file = path.join(dir, name);
      done.push({ file, previous: writeLimit(file, write, current) });
    }
  } catch (error) {
    for (const { file, previous } of done.reverse()) {
      try {
        writeValue(file, previous);
      } catch {
        // best effort: the error that matters is the one being thrown
      }
    }
    throw error;
  }
}

/** The container's current limits, read from its cgroup files when needed. */
class CurrentValues {
  constructor(
    private readonly layout: Layout,
    private readonly record: CgroupRecord,
  ) {}

  read(controller: string, file: string): string | undefined {
    const dir = controllerDir(this.layout, this.record, controller);
    try {
      return dir && readFileSync(path.join(dir, file), 'utf8').trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  #v2(controller: string): boolean {
    const dir = controllerDir(this.layout, this.record, controller);
    return dir !== undefined && dir === this.record.unified;
  }

  /** The memory limit in bytes, -1 for none. */
  memoryLimit(): number {
    return limitOf(this.#v2('memory') ? this.read('memory', 'memory.max') : this.read('memory', 'memory.limit_in_bytes'));
  }

  memoryUsage(): number {
    return Number(this.#v2('memory') ? this.read('memory', 'memory.current') : this.read('memory', 'memory.usage_in_bytes'));
  }

  memoryPeak(): number | undefined {
    const peak = this.#v2('memory') ? this.read('memory', 'memory.peak') : this.read('memory', 'memory.max_usage_in_bytes');
    return peak === undefined ? undefined : Number(peak);
  }

  /** Whether the kernel accounts swap (CONFIG_MEMCG_SWAP, swapaccount=1). */
  hasSwap(): boolean {
    return this.read('memory', this.#v2('memory') ? 'memory.swap.max' : 'memory.memsw.limit_in_bytes') !== undefined;
  }

  /** The CFS quota (-1 for none) and period, in µs. */
  cpuMax(): { quota: number; period: number } {
    if (this.#v2('cpu')) {
      const [quota, period] = (this.read('cpu', 'cpu.max') ?? 'max 100000').split(' ');
      return { quota: limitOf(quota), period: Number(period) };
    }
    return { quota: Number(this.read('cpu', 'cpu.cfs_quota_us') ?? -1), period: Number(this.read('cpu', 'cpu.cfs_period_us') ?? 100000) };
  }
}

const limitOf = (value: string | undefined) => (value === undefined || value === 'max' || Number(value) >= UNLIMITED ? -1 : Number(value));
const given = (n: number | undefined): n is number => n !== undefined && n !== 0;

/** The request with what the kernel needs alongside it filled in from current values. */
function complete(requested: Resources, current: CurrentValues): Resources {
  const resources: Resources = { ...requested };
  const memory = requested.memory && { ...requested.memory };
  if (memory) {
    resources.memory = memory;
    if (memory.limit === -1 && !given(memory.swap) && current.hasSwap()) memory.swap = -1; // unlimited memory: unlimited swap too
    if (given(memory.swap) && memory.swap !== -1 && !given(memory.limit)) {
      const limit = current.memoryLimit();
      if (limit > 0) memory.limit = limit;
    }
    if (memory.checkBeforeUpdate && given(memory.limit) && memory.limit > 0) {
      const usage = current.memoryUsage();
      if (usage > memory.limit) throw invalid(`memory limit ${memory.limit} is below the current usage ${usage} (checkBeforeUpdate)`);
    }
  }
  const cpu = requested.cpu;
  if (cpu && given(cpu.quota) !== given(cpu.period)) {
    const now = current.cpuMax();
    resources.cpu = { ...cpu, quota: given(cpu.quota) ? cpu.quota : now.quota, period: given(cpu.period) ? cpu.period : now.period };
  }
  return resources;
}

/**
 * v1 keeps memory <= memory+swap at every moment: raising both, memory+swap goes first;
 * lowering, the memory limit goes first (as runc orders them).
 */
function orderMemoryAndSwap(writes: { write: CgroupWrite }[], resources: Resources, current: CurrentValues): void {
  const memory = writes.findIndex(({ write }) => write.file === 'memory.limit_in_bytes');
  const swap = writes.findIndex(({ write }) => write.file === 'memory.memsw.limit_in_bytes');
  if (memory < 0 || swap < 0) return;
  const newSwap = resources.memory!.swap!;
  const currentLimit = current.memoryLimit();
  if (newSwap === -1 || (currentLimit !== -1 && currentLimit < newSwap)) {
    const [swapWrite] = writes.splice(swap, 1);
    writes.splice(memory, 0, swapWrite!);
  }
}

/** Writes the new value and returns the one it replaces. */
function writeLimit(file: string, write: CgroupWrite, current: CurrentValues): string {
  try {
    const previous = readFileSync(file, 'utf8').trim();
    writeValue(file, write.value);
    return previous;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // v1 refuses a memory limit below what the container uses and cannot reclaim.
    if (code === 'EBUSY' && write.file === 'memory.limit_in_bytes') {
      const peak = current.memoryPeak();
      throw new RuntimeError(
        'EINVALID',
        `cannot set the memory limit to ${write.value}: the container uses ${current.memoryUsage()}${peak === undefined ? '' : ` (peak ${peak})`}`,
        { cause: error },
      );
    }
    throw new RuntimeError('EINVALID', `cgroup: write ${write.value} to ${write.file}: ${code}`, { cause: error });
  }
}
