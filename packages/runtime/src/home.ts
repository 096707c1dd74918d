/**
 * HOME for a process whose config.json does not set it: the user's home in the rootfs's
 * /etc/passwd, else "/", as runc does. The rootfs is untrusted, so /etc/passwd is resolved the
 * way the container would see it: symlinks stay inside the rootfs.
 */
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

const MAX_LINKS = 40;

/** The host path of `file` (absolute, as the container names it) inside root, symlinks resolved
    within root. Synchronous: a few lstat calls, cheaper than trips through the thread pool. */
export function resolveInRoot(root: string, file: string): string {
  const pending = file.split('/').filter(Boolean);
  const resolved: string[] = [];
  for (let links = 0; pending.length > 0; ) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = path.join(root, ...resolved, part);
    const info = lstatSync(host, { throwIfNoEntry: false });
    if (!info?.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw Object.assign(new Error(`too many symlinks in ${file}`), { code: 'ELOOP' });
    const target = readlinkSync(host);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return path.join(root, ...resolved);
}

export function homeOf(rootfs: string, uid: number): string {
  let passwd: string;
  try {
    passwd = readFileSync(resolveInRoot(rootfs, '/etc/passwd'), 'utf8');
  } catch {
    return '/';
  }
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 6 && fields[2] === String(uid)) return fields[5] || '/';
  }
  return '/';
}
