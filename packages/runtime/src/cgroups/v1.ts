/**
 * linux.resources as cgroup v1 files (the kernel's cgroup-v1 documentation; runc's names and
 * order): memory, cpu, cpuset, pids, blkio, hugetlb, net_cls/net_prio, rdma, devices.
 */
import type { DeviceRule, Resources } from '@oci/specs';
import { invalid } from '../errors.js';
import { type CgroupWrite, deviceNumber, write } from './writes.js';

export function v1Writes(r: Resources, deviceRules: readonly DeviceRule[]): CgroupWrite[] {
  return [...memory(r), ...cpu(r), ...cpuset(r), ...pids(r), ...blkio(r), ...hugetlb(r), ...network(r), ...rdma(r), ...devices(deviceRules)];
}

function memory({ memory: m }: Resources): CgroupWrite[] {
  if (!m) return [];
  const out: CgroupWrite[] = [];
  if (m.swap !== undefined && m.swap !== -1 && m.swap > 0 && (m.limit === undefined || m.limit === -1))
    throw invalid('linux.resources.memory: swap needs a memory limit');
  if (m.limit !== undefined && m.limit > 0 && m.swap !== undefined && m.swap > 0 && m.swap < m.limit)
    throw invalid('linux.resources.memory: swap (memory+swap) must be at least the memory limit');
  // A new cgroup's limits are unlimited: the memory limit goes first, memory+swap (never
  // below it) second.
  if (m.limit !== undefined && m.limit !== 0) out.push(write('memory', 'memory.limit_in_bytes', m.limit));
  if (m.swap !== undefined && m.swap !== 0) out.push(write('memory', 'memory.memsw.limit_in_bytes', m.swap));
  if (m.reservation !== undefined && m.reservation !== 0) out.push(write('memory', 'memory.soft_limit_in_bytes', m.reservation));
  if (m.kernelTCP !== undefined && m.kernelTCP !== 0) out.push(write('memory', 'memory.kmem.tcp.limit_in_bytes', m.kernelTCP));
  if (m.swappiness !== undefined && m.swappiness <= 100) out.push(write('memory', 'memory.swappiness', m.swappiness));
  if (m.disableOOMKiller) out.push(write('memory', 'memory.oom_control', 1));
  return out;
}

function cpu({ cpu: c }: Resources): CgroupWrite[] {
  if (!c) return [];
  const out: CgroupWrite[] = [];
  if (c.shares) out.push(write('cpu', 'cpu.shares', c.shares));
  // The period first: the kernel checks the quota against it.
  if (c.period) out.push(write('cpu', 'cpu.cfs_period_us', c.period));
  if (c.quota) out.push(write('cpu', 'cpu.cfs_quota_us', c.quota));
  if (c.burst !== undefined) out.push(write('cpu', 'cpu.cfs_burst_us', c.burst));
  if (c.realtimePeriod) out.push(write('cpu', 'cpu.rt_period_us', c.realtimePeriod));
  if (c.realtimeRuntime) out.push(write('cpu', 'cpu.rt_runtime_us', c.realtimeRuntime));
  if (c.idle !== undefined) out.push(write('cpu', 'cpu.idle', c.idle));
  return out;
}

export function cpuset({ cpu: c }: Resources): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (c?.cpus) out.push(write('cpuset', 'cpuset.cpus', c.cpus));
  if (c?.mems) out.push(write('cpuset', 'cpuset.mems', c.mems));
  return out;
}

export function pids({ pids: p }: Resources): CgroupWrite[] {
  if (!p || p.limit === 0) return [];
  return [write('pids', 'pids.max', p.limit > 0 ? p.limit : 'max')];
}

function blkio({ blockIO: b }: Resources): CgroupWrite[] {
  if (!b) return [];
  const out: CgroupWrite[] = [];
  // Kernels whose block devices use the BFQ scheduler name the weight blkio.bfq.weight.
  if (b.weight) out.push(write('blkio', 'blkio.weight', b.weight, 'blkio.bfq.weight'));
  if (b.leafWeight) out.push(write('blkio', 'blkio.leaf_weight', b.leafWeight));
  for (const d of b.weightDevice ?? []) {
    if (d.weight) out.push(write('blkio', 'blkio.weight_device', `${deviceNumber(d)} ${d.weight}`, 'blkio.bfq.weight_device'));
    if (d.leafWeight) out.push(write('blkio', 'blkio.leaf_weight_device', `${deviceNumber(d)} ${d.leafWeight}`));
  }
  const throttles = [
    ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
  ] as const;
  for (const [field, file] of throttles) for (const d of b[field] ?? []) out.push(write('blkio', file, `${deviceNumber(d)} ${d.rate}`));
  return out;
}

export function hugetlb({ hugepageLimits }: Resources, suffix = 'limit_in_bytes'): CgroupWrite[] {
  return (hugepageLimits ?? []).map((h) => {
    if (!/^\d+[KMG]B$/.test(h.pageSize)) throw invalid(`linux.resources.hugepageLimits: invalid page size '${h.pageSize}'`);
    return write('hugetlb', `hugetlb.${h.pageSize}.${suffix}`, h.limit);
  });
}

/** net_cls and net_prio: v1 only (cgroup v2 has no counterpart). */
export function network({ network: n }: Resources): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (n?.classID !== undefined) out.push({ ...write('net_cls', 'net_cls.classid', n.classID), field: 'network.classID' });
  for (const p of n?.priorities ?? []) out.push({ ...write('net_prio', 'net_prio.ifpriomap', `${p.name} ${p.priority}`), field: 'network.priorities' });
  return out;
}

export function rdma({ rdma: devices }: Resources): CgroupWrite[] {
  return Object.entries(devices ?? {}).map(([name, limit]) => {
    const parts = [name];
    if (limit.hcaHandles !== undefined) parts.push(`hca_handle=${limit.hcaHandles}`);
    if (limit.hcaObjects !== undefined) parts.push(`hca_object=${limit.hcaObjects}`);
    return write('rdma', 'rdma.max', parts.join(' '));
  });
}

/** A device rule as devices.allow/deny takes it: "c 1:3 rwm", "a *:* rwm". */
export function deviceRuleLine(rule: DeviceRule): string {
  const type = rule.type ?? 'a';
  if (type === 'a') return `a *:* ${rule.access || 'rwm'}`;
  const number = (n: number | null | undefined) => (n === undefined || n === null || n < 0 ? '*' : String(n));
  return `${type} ${number(rule.major)}:${number(rule.minor)} ${rule.access || 'rwm'}`;
}

function devices(rules: readonly DeviceRule[]): CgroupWrite[] {
  return rules.map((rule) => {
    if (rule.type !== undefined && !['a', 'c', 'b'].includes(rule.type)) throw invalid(`linux.resources.devices: unknown type '${rule.type}'`);
    if (rule.access !== undefined && !/^[rwm]*$/.test(rule.access)) throw invalid(`linux.resources.devices: invalid access '${rule.access}'`);
    return write('devices', rule.allow ? 'devices.allow' : 'devices.deny', deviceRuleLine(rule));
  });
}
