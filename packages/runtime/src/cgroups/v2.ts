/**
 * linux.resources as cgroup v2 files (the kernel's cgroup-v2 documentation), converting v1
 * values the way runc does: cpu shares to cpu.weight, blkio weight to io.weight, memory+swap to
 * memory.swap.max. linux.resources.unified is written as given.
 */
import type { Resources } from '@oci/specs';
import { invalid } from '../errors.js';
import { cpuset, hugetlb, pids, rdma } from './v1.js';
import { type CgroupWrite, deviceNumber, write } from './writes.js';

const max = (n: number) => (n < 0 ? 'max' : String(n));

export function v2Writes(r: Resources): CgroupWrite[] {
  return [...memory(r), ...cpu(r), ...cpuset(r), ...pids(r), ...io(r), ...hugetlb(r, 'max'), ...rdma(r), ...unified(r)];
}

/** cpu.shares [2, 262144] to cpu.weight [1, 10000]. */
export const sharesToWeight = (shares: number) => (shares === 0 ? 0 : 1 + Math.floor(((shares - 2) * 9999) / 262142));
/** blkio.weight [10, 1000] to io.weight [1, 10000]. */
export const blkioToIoWeight = (weight: number) => (weight === 0 ? 0 : 1 + Math.floor(((weight - 10) * 9999) / 990));

function memory({ memory: m }: Resources): CgroupWrite[] {
  if (!m) return [];
  const out: CgroupWrite[] = [];
  if (m.limit !== undefined && m.limit !== 0) out.push(write('memory', 'memory.max', max(m.limit)));
  if (m.swap !== undefined && m.swap !== 0) {
    // v1's swap is memory+swap; v2's memory.swap.max is swap alone.
    if (m.swap === -1) out.push(write('memory', 'memory.swap.max', 'max'));
    else if (m.limit === undefined || m.limit <= 0) throw invalid('linux.resources.memory: swap needs a memory limit');
    else if (m.swap < m.limit) throw invalid('linux.resources.memory: swap (memory+swap) must be at least the memory limit');
    else out.push(write('memory', 'memory.swap.max', m.swap - m.limit));
  }
  if (m.reservation !== undefined && m.reservation !== 0) out.push(write('memory', 'memory.low', max(m.reservation)));
  return out;
}

function cpu({ cpu: c }: Resources): CgroupWrite[] {
  if (!c) return [];
  const out: CgroupWrite[] = [];
  if (c.shares) out.push(write('cpu', 'cpu.weight', sharesToWeight(c.shares)));
  if (c.quota || c.period) out.push(write('cpu', 'cpu.max', `${c.quota && c.quota > 0 ? c.quota : 'max'} ${c.period || 100000}`));
  if (c.burst !== undefined) out.push(write('cpu', 'cpu.max.burst', c.burst));
  if (c.idle !== undefined) out.push(write('cpu', 'cpu.idle', c.idle));
  return out;
}

function io({ blockIO: b }: Resources): CgroupWrite[] {
  if (!b) return [];
  const out: CgroupWrite[] = [];
  if (b.weight) out.push(write('io', 'io.weight', `default ${blkioToIoWeight(b.weight)}`, 'io.bfq.weight'));
  for (const d of b.weightDevice ?? []) if (d.weight) out.push(write('io', 'io.weight', `${deviceNumber(d)} ${blkioToIoWeight(d.weight)}`, 'io.bfq.weight'));
  const limits = [
    ['throttleReadBpsDevice', 'rbps'],
    ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'],
    ['throttleWriteIOPSDevice', 'wiops'],
  ] as const;
  for (const [field, key] of limits) for (const d of b[field] ?? []) out.push(write('io', 'io.max', `${deviceNumber(d)} ${key}=${d.rate}`));
  return out;
}

function unified({ unified: files }: Resources): CgroupWrite[] {
  return Object.entries(files ?? {}).map(([file, value]) => {
    if (!/^[a-z_]+\.[\w.]+$/.test(file)) throw invalid(`linux.resources.unified: invalid file name '${file}'`);
    return write(file.slice(0, file.indexOf('.')), file, value);
  });
}
