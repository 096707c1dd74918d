import { readFileSync } from 'node:fs';
import type { Resources } from '@oci/specs';
import { UsageError } from '../args.js';
import { containerCommand } from '../runtime.js';
import { parseBytes } from '../units.js';

const bytes = (describe: string) => ({ type: 'string', value: 'BYTES', describe }) as const;
const integer = (describe: string) => ({ type: 'string', value: 'N', describe }) as const;

const options = {
  resources: { type: 'string', short: 'r', value: 'FILE', describe: "linux.resources JSON from FILE, or '-' for stdin (flags apply on top)" },
  memory: bytes('memory limit (64m, 1g…; -1 for none)'),
  'memory-swap': bytes('memory+swap limit (-1 for unlimited swap)'),
  'memory-reservation': bytes('memory soft limit'),
  'kernel-memory': { ...bytes('(obsolete: ignored by the kernel)'), hidden: true },
  'kernel-memory-tcp': { ...bytes('(obsolete: ignored by the kernel)'), hidden: true },
  'cpu-share': integer('CPU shares (relative weight)'),
  'cpu-shares': { ...integer('same as --cpu-share'), hidden: true },
  'cpu-quota': integer('CFS quota in µs per period (-1 for none)'),
  'cpu-period': integer('CFS period in µs'),
  'cpu-rt-runtime': integer('realtime runtime in µs per period'),
  'cpu-rt-period': integer('realtime period in µs'),
  'cpuset-cpus': { type: 'string', value: 'LIST', describe: 'CPUs to run on (0-3,5)' },
  'cpuset-mems': { type: 'string', value: 'LIST', describe: 'memory nodes to allocate on' },
  'blkio-weight': integer('block IO weight (10-1000)'),
  'pids-limit': integer('maximum number of processes (-1 for none)'),
} as const;

export default containerCommand(
  async (runtime, id, { options: o }, context) => {
    const resources: Resources = o.resources === undefined ? {} : readResources(o.resources);
    const memory = (resources.memory ??= {});
    const cpu = (resources.cpu ??= {});
    const size = (name: keyof typeof o) => {
      const text = o[name] as string | undefined;
      if (text === undefined) return undefined;
      const value = text === '-1' ? -1 : parseBytes(text);
      if (value === undefined) throw new UsageError(`--${name} needs a size like 64m or 1g (got '${text}')`, 'update');
      return value;
    };
    const int = (name: keyof typeof o) => {
      const text = o[name] as string | undefined;
      if (text === undefined) return undefined;
      if (!/^-?\d+$/.test(text)) throw new UsageError(`--${name} needs an integer (got '${text}')`, 'update');
      return Number(text);
    };
    const set = <T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined) => {
      if (value !== undefined) target[key] = value;
    };
    set(memory, 'limit', size('memory'));
    set(memory, 'swap', size('memory-swap'));
    set(memory, 'reservation', size('memory-reservation'));
    if (o['kernel-memory'] !== undefined || o['kernel-memory-tcp'] !== undefined) context.log.warn('kernel memory settings are ignored');
    set(cpu, 'shares', int('cpu-share') ?? int('cpu-shares'));
    set(cpu, 'quota', int('cpu-quota'));
    set(cpu, 'period', int('cpu-period'));
    set(cpu, 'realtimeRuntime', int('cpu-rt-runtime'));
    set(cpu, 'realtimePeriod', int('cpu-rt-period'));
    set(cpu, 'cpus', o['cpuset-cpus']);
    set(cpu, 'mems', o['cpuset-mems']);
    const weight = int('blkio-weight');
    if (weight !== undefined) resources.blockIO = { ...resources.blockIO, weight };
    const pids = int('pids-limit');
    if (pids !== undefined) resources.pids = { limit: pids };
    await runtime.update(id, resources);
  },
  { options },
);

function readResources(file: string): Resources {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`--resources ${file}: ${(error as NodeJS.ErrnoException).code}`, 'update');
  }
  let resources: unknown;
  try {
    resources = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--resources ${file}: not valid JSON: ${(error as Error).message}`, 'update');
  }
  if (typeof resources !== 'object' || resources === null || Array.isArray(resources)) throw new UsageError(`--resources ${file}: not a JSON object`, 'update');
  return resources as Resources;
}
