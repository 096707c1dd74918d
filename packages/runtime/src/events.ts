/**
 * runc's `events`: the container's stats at an interval and an `oom` event each time the
 * kernel's OOM killer acts in its memory cgroup, until the container stops. OOM notices come
 * from the kernel as they happen: v1 through an eventfd registered on memory.oom_control
 * (cgroup.event_control), v2 through inotify on memory.events (its oom_kill count).
 */
import { closeSync, existsSync, type FSWatcher, openSync, readFileSync, readSync, watch, writeFileSync } from 'node:fs';
import path from 'node:path';
import { requireAddon } from '@oci/native';
import { type CgroupRecord, controllerDir } from './cgroups/cgroup.js';
import type { Layout } from './cgroups/layout.js';
import { type ContainerStats, readStats } from './cgroups/stats.js';

export interface ContainerEvent {
  type: 'stats' | 'oom';
  id: string;
  data?: ContainerStats;
}

/** runc's line for an event: {"type":"stats","id":"c1","data":{…}}, uint64 counters exact. */
export function formatEvent(event: ContainerEvent): string {
  return JSON.stringify(event, (_, value: unknown) => (typeof value === 'bigint' ? `\0u64:${value}` : value)).replace(/"\\u0000u64:(-?\d+)"/g, '$1');
}

interface OomWatch {
  /** Reports what the kernel noticed meanwhile, then stops watching. */
  close(): void;
}

/** Calls `onOom` for each OOM in the container's memory cgroup; undefined without a memory controller. */
function watchOom(layout: Layout, record: CgroupRecord, onOom: () => void): OomWatch | undefined {
  const dir = controllerDir(layout, record, 'memory');
  if (!dir) return undefined;
  return dir === record.unified ? watchOomV2(dir, onOom) : watchOomV1(dir, onOom);
}

/** v1: the kernel signals the eventfd on each OOM, and once more when the cgroup is removed. */
function watchOomV1(dir: string, onOom: () => void): OomWatch {
  const { eventfd, onReadable, cancelReadable } = requireAddon();
  const control = path.join(dir, 'cgroup.event_control');
  const efd = eventfd();
  const oomControl = openSync(path.join(dir, 'memory.oom_control'), 'r');
  const closeFds = () => {
    closeSync(efd);
    closeSync(oomControl);
  };
  try {
    writeFileSync(control, `${efd} ${oomControl}`, { flag: 'r+' });
  } catch (error) {
    closeFds();
    throw error;
  }
  /** Reads the eventfd: whether the kernel signalled it, for an OOM (the cgroup still exists). */
  const take = () => {
    try {
      readSync(efd, Buffer.alloc(8));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return false;
      throw error;
    }
    return existsSync(control);
  };
  let watch: number;
  const arm = () => {
    watch = onReadable(efd, () => {
      if (take()) onOom();
      arm();
    });
  };
  arm();
  return {
    close() {
      cancelReadable(watch);
      if (take()) onOom();
      closeFds();
    },
  };
}

/** v2: memory.events changes (inotify) when its oom_kill count grows. */
function watchOomV2(dir: string, onOom: () => void): OomWatch {
  const file = path.join(dir, 'memory.events');
  const kills = () => Number(/^oom_kill (\d+)$/m.exec(readFileSync(file, 'utf8'))?.[1] ?? 0);
  let seen = kills();
  const check = () => {
    let now: number;
    try {
      now = kills();
    } catch {
      return; // the cgroup is gone
    }
    for (; seen < now; seen++) onOom();
  };
  const watcher: FSWatcher = watch(file, check);
  return {
    close() {
      check();
      watcher.close();
    },
  };
}

export interface EventSource {
  id: string;
  layout: Layout;
  record: CgroupRecord;
  /** Milliseconds between stats events. */
  interval: number;
  /** Resolves when the container has stopped. */
  stopped: Promise<void>;
}

/** The container's events until it stops. */
export async function* containerEvents({ id, layout, record, interval, stopped }: EventSource): AsyncGenerator<ContainerEvent> {
  const queue: ContainerEvent[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const push = (event: ContainerEvent) => {
    queue.push(event);
    wake?.();
  };
  const oom = watchOom(layout, record, () => push({ type: 'oom', id }));
  let oomClosed = false;
  const closeOom = () => {
    if (oomClosed) return;
    oomClosed = true;
    oom?.close();
  };
  const timer = setInterval(() => {
    try {
      push({ type: 'stats', id, data: readStats(layout, record) });
    } catch {
      // the container is going: its stop ends the stream
    }
  }, interval);
  void stopped.then(() => {
    done = true;
    wake?.();
  });
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (done) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    clearInterval(timer);
    closeOom(); // an OOM that killed the container's process is reported before the end
    while (queue.length > 0) yield queue.shift()!;
  } finally {
    clearInterval(timer);
    closeOom();
  }
}
