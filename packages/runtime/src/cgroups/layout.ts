/**
 * Where the cgroup hierarchies are (from /proc/self/mountinfo) and where this process sits in
 * them (from /proc/self/cgroup): v1 (a mount per controller or group of controllers), v2 (one
 * unified mount), or hybrid (v1 controllers plus a v2 mount, often at /sys/fs/cgroup/unified).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface Hierarchy {
  version: 1 | 2;
  /** Where it is mounted, e.g. /sys/fs/cgroup/memory. */
  mountPoint: string;
  /** The cgroup shown at the mount point (usually /; a subtree inside another container). */
  mountRoot: string;
  /** v1: its controllers (or name=systemd); v2: the controllers its root offers. */
  controllers: string[];
  /** How /proc/self/cgroup names this hierarchy: "cpu,cpuacct", "name=systemd", "" for v2. */
  key: string;
}

export interface Layout {
  mode: 'v1' | 'v2' | 'hybrid';
  hierarchies: Hierarchy[];
  /** This process's cgroup in each hierarchy, by key. */
  own: Map<string, string>;
}

const V1_CONTROLLERS = new Set([
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'net_cls',
  'net_prio',
  'blkio',
  'perf_event',
  'hugetlb',
  'pids',
  'rdma',
  'misc',
]);

/** mountinfo escapes space, tab, newline and backslash as octal. */
const unescapeOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

export interface MountInfo {
  root: string;
  mountPoint: string;
  fstype: string;
  superOptions: string[];
  /** Optional fields: shared:N, master:N… */
  propagation: string[];
}

export function parseMountInfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0) continue;
    mounts.push({
      root: unescapeOctal(fields[3]!),
      mountPoint: unescapeOctal(fields[4]!),
      propagation: fields.slice(6, dash),
      fstype: fields[dash + 1]!,
      superOptions: (fields[dash + 3] ?? '').split(','),
    });
  }
  return mounts;
}

export function readLayout(): Layout {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const cgroups = readFileSync('/proc/self/cgroup', 'utf8');
  const hierarchies: Hierarchy[] = [];
  const keys = new Set<string>();
  for (const m of parseMountInfo(mountinfo)) {
    if (m.fstype === 'cgroup') {
      const controllers = m.superOptions.filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='));
      const key = controllers.join(',');
      if (controllers.length === 0 || keys.has(key)) continue;
      keys.add(key);
      hierarchies.push({ version: 1, mountPoint: m.mountPoint, mountRoot: m.root, controllers, key });
    } else if (m.fstype === 'cgroup2' && !keys.has('')) {
      keys.add('');
      let available = '';
      try {
        available = readFileSync(path.join(m.mountPoint, 'cgroup.controllers'), 'utf8');
      } catch {
        // an unreadable cgroup2 mount offers nothing
      }
      hierarchies.push({ version: 2, mountPoint: m.mountPoint, mountRoot: m.root, controllers: available.split(/\s+/).filter(Boolean), key: '' });
    }
  }
  const own = new Map<string, string>();
  for (const line of cgroups.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (match) own.set(match[1]!, match[2]!);
  }
  const v1 = hierarchies.some((h) => h.version === 1);
  const v2 = hierarchies.some((h) => h.version === 2);
  return { mode: v1 && v2 ? 'hybrid' : v2 ? 'v2' : 'v1', hierarchies, own };
}

/** The hierarchy that holds a controller: a v1 one first (what a hybrid host enforces), else v2. */
export function hierarchyOf(layout: Layout, controller: string): Hierarchy | undefined {
  return (
    layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes(controller)) ??
    layout.hierarchies.find((h) => h.version === 2 && h.controllers.includes(controller))
  );
}
