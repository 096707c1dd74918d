/**
 * linux.sysctl: only keys that belong to a namespace the container has of its own (runc's
 * rule); any other would change the host.
 */
import type { NamespaceType, Spec } from '@oci/specs';
import { invalid } from '../errors.js';
import { hasNamespace } from './namespaces.js';
import type { Op } from './ops.js';

const IPC_KEYS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

function namespaceOf(key: string): NamespaceType | undefined {
  const dotted = key.replaceAll('/', '.');
  if (IPC_KEYS.has(dotted) || dotted.startsWith('fs.mqueue.')) return 'ipc';
  if (dotted.startsWith('net.')) return 'network';
  if (dotted === 'kernel.hostname' || dotted === 'kernel.domainname') return 'uts';
  return undefined;
}

/** A key with / separators is a path already (it may hold dots: net/ipv4/conf/eth0.1/forwarding). */
const toPath = (key: string) => (key.includes('/') ? key : key.replaceAll('.', '/'));

export function sysctlOps(spec: Spec): Op[] {
  return Object.entries(spec.linux?.sysctl ?? {}).map(([key, value]): Op => {
    if (
      !/^[\w.\-/]+$/.test(key) ||
      toPath(key)
        .split('/')
        .some((part) => part === '' || part === '..' || part === '.')
    )
      throw invalid(`linux.sysctl: invalid key '${key}'`);
    if (typeof value !== 'string') throw invalid(`linux.sysctl: ${key}: the value must be a string`);
    const namespace = namespaceOf(key);
    if (!namespace) throw invalid(`linux.sysctl: ${key} is not in a separate kernel namespace`);
    if (!hasNamespace(spec, namespace)) throw invalid(`linux.sysctl: ${key} needs a ${namespace} namespace`);
    return ['sysctl', toPath(key), value];
  });
}
