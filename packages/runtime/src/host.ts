/** Facts about the host the plan depends on, read once per process. */
import { existsSync, readFileSync } from 'node:fs';
import { type Layout, readLayout } from './cgroups/layout.js';
import type { HostFacts } from './plan/common.js';

let facts: HostFacts | undefined;
let layout: Layout | undefined;

export function hostFacts(): HostFacts {
  facts ??= {
    lastCap: Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')),
    kcore: existsSync('/proc/kcore'),
    devMqueue: existsSync('/dev/mqueue'),
  };
  return facts;
}

/** The cgroup layout; this process does not move between cgroups, so once is enough. */
export function cgroupLayout(): Layout {
  layout ??= readLayout();
  return layout;
}
