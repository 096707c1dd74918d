/**
 * A container's resource usage from its cgroup files, in the shape of runc's `events --stats`
 * (runc's types.Stats: same keys, same order, fields Go omits when zero left out), from v1 or v2
 * files wherever each controller lives. Counters are bigint: the kernel keeps them as uint64,
 * and a limit such as v1's 9223372036854771712 has no exact JavaScript number.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type CgroupRecord, controllerDir } from './cgroup.js';
import type { Layout } from './layout.js';

export interface MemoryEntry {
  limit: bigint;
  usage?: bigint;
  max?: bigint;
  failcnt: bigint;
}

export interface BlkioEntry {
  major?: bigint;
  minor?: bigint;
  op?: string;
  value?: bigint;
}

type BlkioKey =
  | 'ioServiceBytesRecursive'
  | 'ioServicedRecursive'
  | 'ioQueueRecursive'
  | 'ioServiceTimeRecursive'
  | 'ioWaitTimeRecursive'
  | 'ioMergedRecursive'
  | 'ioTimeRecursive'
  | 'sectorsRecursive';

export interface ContainerStats {
  cpu: {
    usage: { total?: bigint; percpu?: bigint[]; percpu_kernel?: bigint[]; percpu_user?: bigint[]; kernel: bigint; user: bigint };
    throttling: { periods?: bigint; throttledPeriods?: bigint; throttledTime?: bigint };
  };
  cpuset: {
    cpus?: number[];
    cpu_exclusive: bigint;
    mems?: number[];
    mem_hardwall: bigint;
    mem_exclusive: bigint;
    memory_migrate: bigint;
    memory_spread_page: bigint;
    memory_spread_slab: bigint;
    memory_pressure: bigint;
    sched_load_balance: bigint;
    sched_relax_domain_level: bigint;
  };
  memory: { cache?: bigint; usage: MemoryEntry; swap: MemoryEntry; kernel: MemoryEntry; kernelTCP: MemoryEntry; raw?: Record<string, bigint> };
  pids: { current?: bigint; limit?: bigint };
  blkio: Partial<Record<BlkioKey, BlkioEntry[]>>;
  hugetlb: Record<string, { usage?: bigint; max?: bigint; failcnt: bigint }>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

const MAX_U64 = 2n ** 64n - 1n;
/** USER_HZ: cpuacct.stat counts in these ticks on every Linux architecture runc supports. */
const TICKS_PER_SECOND = 100n;

/** Leaves out the fields Go's `omitempty` would: zero numbers, empty strings, lists and maps. */
function omitEmpty<T extends object>(object: T, ...keys: (keyof T)[]): T {
  for (const key of keys) {
    const value = object[key] as unknown;
    if (
      value === undefined ||
      value === 0n ||
      value === '' ||
      (Array.isArray(value) && value.length === 0) ||
      (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0)
    )
      delete object[key];
  }
  return object;
}

/** One cgroup directory's files. */
class Files {
  constructor(readonly dir: string | undefined) {}

  text(file: string): string | undefined {
    if (!this.dir) return undefined;
    try {
      return readFileSync(path.join(this.dir, file), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENODEV' || code === 'EOPNOTSUPP') return undefined;
      throw error;
    }
  }

  /** A single number; "max" is the largest uint64, as runc reads it. */
  u64(file: string): bigint | undefined {
    const text = this.text(file)?.trim();
    if (text === undefined || text === '') return undefined;
    return text === 'max' ? MAX_U64 : BigInt(text);
  }

  /** "key value" lines (memory.stat, cpu.stat, memory.events…). */
  keyed(file: string): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const line of (this.text(file) ?? '').split('\n')) {
      const [key, value] = line.split(' ');
      if (key && value !== undefined && /^\d+$/.test(value)) out.set(key, BigInt(value));
    }
    return out;
  }
}

export function readStats(layout: Layout, record: CgroupRecord): ContainerStats {
  const source = (controller: string, fallback?: string): Source => {
    const dir = controllerDir(layout, record, controller) ?? fallback;
    return { files: new Files(dir), v2: dir !== undefined && dir === record.unified };
  };
  // cpu.stat is in every v2 cgroup, with or without the cpu controller.
  const blkio = source('blkio');
  return {
    cpu: cpuStats(source('cpuacct', record.unified), source('cpu', record.unified)),
    cpuset: cpusetStats(source('cpuset')),
    memory: memoryStats(source('memory')),
    pids: pidsStats(source('pids', record.dirs[0])),
    blkio: blkioStats(blkio.files.dir ? blkio : source('io')),
    hugetlb: hugetlbStats(source('hugetlb')),
    intel_rdt: {},
    network_interfaces: null,
  };
}

type Source = { files: Files; v2: boolean };

function cpuStats(usageSource: Source, throttlingSource: Source): ContainerStats['cpu'] {
  const usage: ContainerStats['cpu']['usage'] = { kernel: 0n, user: 0n };
  const throttling: ContainerStats['cpu']['throttling'] = {};
  if (usageSource.v2) {
    const stat = usageSource.files.keyed('cpu.stat');
    usage.total = (stat.get('usage_usec') ?? 0n) * 1000n;
    usage.kernel = (stat.get('system_usec') ?? 0n) * 1000n;
    usage.user = (stat.get('user_usec') ?? 0n) * 1000n;
  } else {
    const f = usageSource.files;
    usage.total = f.u64('cpuacct.usage');
    usage.percpu = (f.text('cpuacct.usage_percpu') ?? '').split(/\s+/).filter(Boolean).map(BigInt);
    // "cpu user system" then a line per cpu.
    const perCpu = (f.text('cpuacct.usage_all') ?? '')
      .split('\n')
      .slice(1)
      .map((line) => line.split(' '))
      .filter((fields) => fields.length === 3);
    usage.percpu_kernel = perCpu.map((fields) => BigInt(fields[2]!));
    usage.percpu_user = perCpu.map((fields) => BigInt(fields[1]!));
    const ticks = f.keyed('cpuacct.stat');
    usage.kernel = ((ticks.get('system') ?? 0n) * 1_000_000_000n) / TICKS_PER_SECOND;
    usage.user = ((ticks.get('user') ?? 0n) * 1_000_000_000n) / TICKS_PER_SECOND;
  }
  const stat = throttlingSource.files.keyed('cpu.stat');
  throttling.periods = stat.get('nr_periods');
  throttling.throttledPeriods = stat.get('nr_throttled');
  throttling.throttledTime = throttlingSource.v2 ? (stat.get('throttled_usec') ?? 0n) * 1000n : stat.get('throttled_time');
  return {
    usage: omitEmpty(
      { total: usage.total, percpu: usage.percpu, percpu_kernel: usage.percpu_kernel, percpu_user: usage.percpu_user, kernel: usage.kernel, user: usage.user },
      'total',
      'percpu',
      'percpu_kernel',
      'percpu_user',
    ),
    throttling: omitEmpty(throttling, 'periods', 'throttledPeriods', 'throttledTime'),
  };
}

/** "0-2,4" as [0, 1, 2, 4]. */
export function parseCpuList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? '').trim().split(',').filter(Boolean)) {
    const [first, last = first] = part.split('-').map(Number);
    for (let n = first!; n <= last!; n++) out.push(n);
  }
  return out;
}

function cpusetStats({ files: f, v2 }: Source): ContainerStats['cpuset'] {
  const n = (file: string) => (v2 ? 0n : (f.u64(`cpuset.${file}`) ?? 0n));
  const level = f.text('cpuset.sched_relax_domain_level')?.trim();
  return omitEmpty(
    {
      cpus: parseCpuList(f.text(v2 ? 'cpuset.cpus.effective' : 'cpuset.cpus')),
      cpu_exclusive: n('cpu_exclusive'),
      mems: parseCpuList(f.text(v2 ? 'cpuset.mems.effective' : 'cpuset.mems')),
      mem_hardwall: n('mem_hardwall'),
      mem_exclusive: n('mem_exclusive'),
      memory_migrate: n('memory_migrate'),
      memory_spread_page: n('memory_spread_page'),
      memory_spread_slab: n('memory_spread_slab'),
      memory_pressure: n('memory_pressure'),
      sched_load_balance: n('sched_load_balance'),
      sched_relax_domain_level: v2 || level === undefined ? 0n : BigInt(level),
    },
    'cpus',
    'mems',
  );
}

const memoryEntry = (limit: bigint | undefined, usage?: bigint, max?: bigint, failcnt?: bigint): MemoryEntry =>
  omitEmpty({ limit: limit ?? 0n, usage, max, failcnt: failcnt ?? 0n }, 'usage', 'max');

function memoryStats({ files: f, v2 }: Source): ContainerStats['memory'] {
  const stat = f.keyed('memory.stat');
  const raw = Object.fromEntries([...stat.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (v2) {
    const usage = memoryEntry(f.u64('memory.max'), f.u64('memory.current'));
    // v1 reports memory+swap; so does runc on v2, adding the two up.
    const swapUsage = f.u64('memory.swap.current');
    const swapLimit = f.u64('memory.swap.max');
    const swap =
      swapUsage === undefined
        ? memoryEntry(0n)
        : memoryEntry(swapLimit === MAX_U64 || usage.limit === MAX_U64 ? MAX_U64 : (swapLimit ?? 0n) + usage.limit, swapUsage + (usage.usage ?? 0n));
    return omitEmpty({ cache: stat.get('file'), usage, swap, kernel: memoryEntry(0n), kernelTCP: memoryEntry(0n), raw }, 'cache', 'raw');
  }
  const entry = (prefix: string) => {
    const usage = f.u64(`${prefix}.usage_in_bytes`);
    if (usage === undefined) return memoryEntry(0n);
    return memoryEntry(f.u64(`${prefix}.limit_in_bytes`), usage, f.u64(`${prefix}.max_usage_in_bytes`), f.u64(`${prefix}.failcnt`));
  };
  return omitEmpty(
    { cache: stat.get('cache'), usage: entry('memory'), swap: entry('memory.memsw'), kernel: entry('memory.kmem'), kernelTCP: entry('memory.kmem.tcp'), raw },
    'cache',
    'raw',
  );
}

function pidsStats({ files: f }: Source): ContainerStats['pids'] {
  const limit = f.u64('pids.max');
  const current = f.u64('pids.current') ?? BigInt((f.text('cgroup.procs') ?? '').split('\n').filter(Boolean).length);
  // runc says 0 for no limit.
  return omitEmpty({ current, limit: limit === MAX_U64 ? 0n : limit }, 'current', 'limit');
}

/** v1's blkio files, tried by groups in runc's order: the first group whose first file has entries wins. */
const BLKIO_GROUPS: readonly (readonly [string, BlkioKey][])[] = [
  [
    ['blkio.bfq.sectors_recursive', 'sectorsRecursive'],
    ['blkio.bfq.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.bfq.io_wait_time_recursive', 'ioWaitTimeRecursive'],
    ['blkio.bfq.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.bfq.io_queued_recursive', 'ioQueueRecursive'],
    ['blkio.bfq.time_recursive', 'ioTimeRecursive'],
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.sectors_recursive', 'sectorsRecursive'],
    ['blkio.io_service_time_recursive', 'ioServiceTimeRecursive'],
    ['blkio.io_wait_time_recursive', 'ioWaitTimeRecursive'],
    ['blkio.io_merged_recursive', 'ioMergedRecursive'],
    ['blkio.io_queued_recursive', 'ioQueueRecursive'],
    ['blkio.time_recursive', 'ioTimeRecursive'],
    ['blkio.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.throttle.io_serviced_recursive', 'ioServicedRecursive'],
    ['blkio.throttle.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
  ],
  [
    ['blkio.throttle.io_serviced', 'ioServicedRecursive'],
    ['blkio.throttle.io_service_bytes', 'ioServiceBytesRecursive'],
  ],
];

/** "8:0 Read 4096" (or "8:0 4096") lines; the "Total N" line is skipped. */
function blkioEntries(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const fields = line.split(/[ :]/).filter(Boolean);
    if (fields.length < 3) continue;
    const [major, minor, ...rest] = fields;
    const op = rest.length === 2 ? rest[0]! : '';
    out.push(omitEmpty({ major: BigInt(major!), minor: BigInt(minor!), op, value: BigInt(rest.at(-1)!) }, 'major', 'minor', 'op', 'value'));
  }
  return out;
}

const BLKIO_ORDER: readonly BlkioKey[] = [
  'ioServiceBytesRecursive',
  'ioServicedRecursive',
  'ioQueueRecursive',
  'ioServiceTimeRecursive',
  'ioWaitTimeRecursive',
  'ioMergedRecursive',
  'ioTimeRecursive',
  'sectorsRecursive',
];

function blkioStats({ files: f, v2 }: Source): ContainerStats['blkio'] {
  const found: Partial<Record<BlkioKey, BlkioEntry[]>> = {};
  if (v2) {
    // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=5 dios=6"; v1's names for the four it has.
    const names: Record<string, [BlkioKey, string]> = {
      rbytes: ['ioServiceBytesRecursive', 'Read'],
      wbytes: ['ioServiceBytesRecursive', 'Write'],
      rios: ['ioServicedRecursive', 'Read'],
      wios: ['ioServicedRecursive', 'Write'],
    };
    for (const line of (f.text('io.stat') ?? '').split('\n')) {
      const [device, ...pairs] = line.split(' ').filter(Boolean);
      const [major, minor] = (device ?? '').split(':');
      if (minor === undefined) continue;
      for (const pair of pairs) {
        const [key, value] = pair.split('=');
        const name = names[key!];
        if (name && value !== undefined)
          (found[name[0]] ??= []).push(
            omitEmpty({ major: BigInt(major!), minor: BigInt(minor), op: name[1], value: BigInt(value) }, 'major', 'minor', 'value'),
          );
      }
    }
  } else {
    for (const group of BLKIO_GROUPS) {
      const first = blkioEntries(f.text(group[0]![0]));
      if (first.length === 0) continue;
      for (const [file, key] of group) found[key] = blkioEntries(f.text(file));
      break;
    }
  }
  const ordered: ContainerStats['blkio'] = {};
  for (const key of BLKIO_ORDER) if (found[key]?.length) ordered[key] = found[key];
  return ordered;
}

/** The huge page sizes this kernel has, as cgroup files name them: 2MB, 1GB. */
function hugePageSizes(): string[] {
  let names: string[];
  try {
    names = readdirSync('/sys/kernel/mm/hugepages');
  } catch {
    return [];
  }
  return names
    .map((name) => Number(/^hugepages-(\d+)kB$/.exec(name)?.[1]))
    .filter((kb) => kb > 0)
    .sort((a, b) => a - b)
    .map((kb) => (kb >= 1 << 20 ? `${kb >> 20}GB` : kb >= 1 << 10 ? `${kb >> 10}MB` : `${kb}KB`));
}

function hugetlbStats({ files: f, v2 }: Source): ContainerStats['hugetlb'] {
  const out: ContainerStats['hugetlb'] = {};
  if (!f.dir) return out;
  // Sorted as Go writes a map's keys.
  for (const size of hugePageSizes().sort()) {
    const prefix = `hugetlb.${size}`;
    out[size] = v2
      ? omitEmpty({ usage: f.u64(`${prefix}.current`), failcnt: f.keyed(`${prefix}.events`).get('max') ?? 0n }, 'usage')
      : omitEmpty(
          { usage: f.u64(`${prefix}.usage_in_bytes`), max: f.u64(`${prefix}.max_usage_in_bytes`), failcnt: f.u64(`${prefix}.failcnt`) ?? 0n },
          'usage',
          'max',
        );
  }
  return out;
}
