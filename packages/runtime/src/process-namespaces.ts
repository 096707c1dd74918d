/** The namespaces of a running process, read from /proc (what an exec into its container enters). */
import { statSync } from 'node:fs';
import type { NamespaceType } from '@oci/specs';
import { CLONE_NEW } from './plan/namespaces.js';

/** Their names under /proc/PID/ns. */
const PROC_NAMES: Readonly<Record<NamespaceType, string>> = {
  mount: 'mnt',
  cgroup: 'cgroup',
  uts: 'uts',
  ipc: 'ipc',
  user: 'user',
  pid: 'pid',
  network: 'net',
  time: 'time',
};

/**
 * CLONE_NEW* flags of the namespaces process `pid` does not share with this one: those an
 * exec into its container enters (runc enters those of the container's config; the same set,
 * read from the system). Undefined when the process is gone.
 */
export function unsharedNamespaces(pid: number): number | undefined {
  let flags = 0;
  for (const [type, name] of Object.entries(PROC_NAMES) as [NamespaceType, string][]) {
    const ours = statSync(`/proc/self/ns/${name}`, { throwIfNoEntry: false });
    if (!ours) continue; // a namespace type this kernel lacks
    // Missing while ours exists: the process is gone (or a zombie, whose namespaces are).
    const theirs = statSync(`/proc/${pid}/ns/${name}`, { throwIfNoEntry: false });
    if (!theirs) return undefined;
    if (theirs.ino !== ours.ino || theirs.dev !== ours.dev) flags |= CLONE_NEW[type];
  }
  return flags;
}
