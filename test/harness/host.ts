/**
 * Clean-up of what containers leave on the host when a test dies half way: mounts under a
 * directory, processes, cgroups. Synchronous on purpose: it also runs from a process 'exit'
 * handler, where nothing asynchronous completes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

interface MountInfo {
  mountPoint: string;
  fsType: string;
}

/** /proc/self/mountinfo, with the kernel's octal escapes (\040 for a space) decoded. */
function mounts(): MountInfo[] {
  const unescapeOctal = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      const separator = fields.indexOf('-');
      return { mountPoint: unescapeOctal(fields[4]!), fsType: fields[separator + 1]! };
    });
}

const isUnder = (child: string, dir: string) => child === dir || child.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/** Unmounts everything mounted at or below `dir`, deepest first (lazily if busy). */
export function unmountUnder(dir: string): void {
  const targets = mounts()
    .map((mount) => mount.mountPoint)
    .filter((mountPoint) => isUnder(mountPoint, dir))
    .sort((a, b) => b.length - a.length);
  for (const target of targets) {
    if (spawnSync('umount', [target]).status !== 0) spawnSync('umount', ['--lazy', target]);
  }
}

export interface HostProcess {
  pid: number;
  argv: string[];
}

export function processes(): HostProcess[] {
  const found: HostProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      found.push({ pid: Number(entry), argv });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** SIGKILLs every process whose command line satisfies `match` (never this process). */
export function killProcesses(match: (argv: string[]) => boolean): void {
  for (const { pid, argv } of processes()) if (pid !== process.pid && match(argv)) kill(pid);
}

/** SIGKILLs every process whose root or current directory lies under `dir` (e.g. a container's rootfs). */
export function killProcessesUsing(dir: string): void {
  for (const pid of processesUsing(dir)) kill(pid);
}

function processesUsing(dir: string): number[] {
  const found: number[] = [];
  for (const { pid } of processes()) {
    for (const link of ['root', 'cwd']) {
      try {
        const target = readlinkSync(`/proc/${pid}/${link}`);
        if (target !== '/' && isUnder(target, dir)) {
          found.push(pid);
          break;
        }
      } catch {
        // exited, or a kernel thread
      }
    }
  }
  return found;
}

/** Every cgroup hierarchy's mount point (v1 controllers and the v2 tree). */
function cgroupRoots(): string[] {
  return mounts()
    .filter((mount) => mount.fsType === 'cgroup' || mount.fsType === 'cgroup2')
    .map((mount) => mount.mountPoint);
}

/**
 * Removes the cgroup `relative` (e.g. "/oci-test-1a2b") and everything below it from every
 * hierarchy. Processes still in it are killed first, after a thaw: a frozen process does not
 * die of SIGKILL until it is thawed.
 */
export function removeCgroup(relative: string): void {
  const trees = cgroupRoots()
    .map((root) => path.join(root, relative))
    .filter((top) => !cgroupRoots().includes(top) && existsSync(top));
  const dirs = trees.flatMap(subtree).sort((a, b) => b.length - a.length);
  for (const dir of dirs) thaw(dir);
  for (let attempt = 0; attempt < 100; attempt++) {
    const remaining = dirs.filter((dir) => existsSync(dir) && !tryRmdir(dir));
    if (remaining.length === 0) return;
    for (const dir of remaining) for (const pid of cgroupProcesses(dir)) kill(pid);
    sleep(50);
  }
}

/** `dir` and every directory below it. */
function subtree(dir: string): string[] {
  const below = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => subtree(path.join(dir, entry.name)));
  return [dir, ...below];
}

function tryRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

function cgroupProcesses(dir: string): number[] {
  try {
    return readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function thaw(dir: string): void {
  for (const [file, value] of [
    ['freezer.state', 'THAWED'],
    ['cgroup.freeze', '0'],
  ] as const) {
    try {
      if (existsSync(path.join(dir, file))) writeFileSync(path.join(dir, file), value);
    } catch {
      // not frozen by this hierarchy
    }
  }
}

/** Blocks the thread: clean-up also runs in an 'exit' handler, where timers never fire. */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
