/** Plans of the default spec for the plan tests, each adjusted by the test, and what they look at in them. */
import { defaultSpec } from '@oci/bundle/default-spec';
import type { Spec } from '@oci/specs';
import { type ExecPlanOptions, execPlan } from '../../src/plan/exec.js';
import { type InitPlanOptions, initPlan } from '../../src/plan/init.js';
import { CLONE_NEW } from '../../src/plan/namespaces.js';
import type { Op } from '../../src/plan/ops.js';
import { compileSeccomp } from '../../src/seccomp/compile.js';

/** Two v1 hierarchies as a container's cgroup mount finds them: cpu and cpuacct co-mounted, and memory. */
export const cgroupSources = [
  { name: 'cpu,cpuacct', fstype: 'cgroup' as const, data: 'cpu,cpuacct', hostDir: '/sys/fs/cgroup/cpu,cpuacct/c1', aliases: ['cpu', 'cpuacct'] },
  { name: 'memory', fstype: 'cgroup' as const, data: 'memory', hostDir: '/sys/fs/cgroup/memory/c1', aliases: [] },
];

/** The spec's cgroup mount, read-only as runc's default spec has it. */
export const cgroupMount = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'ro'] };

/** The init plan of container c1 in /b for the default spec (no terminal), after `adjust`. */
export function plan(adjust: (spec: Spec) => void = () => {}, options: Partial<InitPlanOptions> = {}): Op[] {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  adjust(spec);
  return initPlan({
    seccomp: compiled(spec),
    id: 'c1',
    bundle: '/b',
    rootfs: '/b/rootfs',
    spec,
    startSocket: '/run/oci/c1/start.sock',
    cgroup: { dirs: ['/sys/fs/cgroup/memory/c1', '/sys/fs/cgroup/unified/c1'], unified: '/sys/fs/cgroup/unified/c1' },
    cgroupMounts: cgroupSources,
    host: { lastCap: 40, kcore: false, devMqueue: true },
    home: '/root',
    passFds: 0,
    caller: { uid: 0, gid: 0 },
    ...options,
  });
}

export const names = (ops: Op[]) => ops.map((op) => op[0]);
export const find = (ops: Op[], name: string) => ops.find((op) => op[0] === name);

/** The plan of an exec of `ps x` into the running container c1, after `adjust`. */
export function planExec(adjust: (options: ExecPlanOptions) => void = () => {}): Op[] {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  const options: ExecPlanOptions = {
    id: 'c1',
    bundle: '/b',
    spec,
    process: { ...structuredClone(spec.process!), args: ['ps', 'x'] },
    container: { pid: 4242, startTime: '987654' },
    namespaces: CLONE_NEW.pid | CLONE_NEW.mount | CLONE_NEW.network | CLONE_NEW.uts | CLONE_NEW.ipc,
    cgroup: { dirs: ['/sys/fs/cgroup/memory/c1', '/sys/fs/cgroup/unified/c1'], unified: '/sys/fs/cgroup/unified/c1' },
    host: { lastCap: 40, kcore: false, devMqueue: true },
    home: '/root',
    passFds: 0,
  };
  adjust(options);
  return execPlan({ seccomp: compiled(options.spec), ...options });
}

/** The spec's seccomp filter compiled, as the runtime gives it to a plan. */
const compiled = (spec: Spec) => spec.linux?.seccomp && compileSeccomp(spec.linux.seccomp);
