/**
 * The image config's User, resolved the way runc and containerd do it: `name`, `uid`,
 * `name:group`, `uid:gid` (and mixes), looked up in the rootfs' own /etc/passwd and /etc/group.
 * Those files are read inside the rootfs: a symlink /etc/passwd -> /etc/shadow is the rootfs'
 * /etc/shadow, never the host's.
 */
import { readFileSync } from 'node:fs';
import { resolveFileInRoot } from '@oci/image/internal/layer/root';
import { BundleError } from './errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /**
   * Supplementary groups: the groups of /etc/group that list the user, the primary one left out;
   * none when the group is given (`user:group`), as image-spec's conversion.md says and runc does.
   */
  additionalGids: number[];
  /** From /etc/passwd, when the user is there. */
  name?: string;
  home?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 32 - 2;

export function resolveUser(rootfs: string, spec: string | undefined): ResolvedUser {
  const text = spec?.trim() ?? '';
  const [userPart = '', groupPart] = text === '' ? ['0'] : text.split(':', 2);
  if (userPart === '' || groupPart === '') throw new BundleError('EUSER', `invalid user '${text}': expected user[:group]`);
  const passwd = readDatabase(rootfs, '/etc/passwd', parsePasswd);
  const groups = readDatabase(rootfs, '/etc/group', parseGroup);

  const numericUser = parseId(userPart);
  const entry = numericUser === undefined ? passwd.find((p) => p.name === userPart) : passwd.find((p) => p.uid === numericUser);
  if (numericUser === undefined && !entry) throw new BundleError('EUSER', `unknown user '${userPart}': not in the image's /etc/passwd`);
  const uid = numericUser ?? entry!.uid;

  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined) {
    const numericGroup = parseId(groupPart);
    const group = numericGroup === undefined ? groups.find((g) => g.name === groupPart) : undefined;
    if (numericGroup === undefined && !group) throw new BundleError('EUSER', `unknown group '${groupPart}': not in the image's /etc/group`);
    gid = numericGroup ?? group!.gid;
  }
  const additionalGids =
    entry && groupPart === undefined ? [...new Set(groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid))] : [];
  return { uid, gid, additionalGids, ...(entry && { name: entry.name, home: entry.home }) };
}

function parseId(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const id = Number(text);
  if (id > MAX_ID) throw new BundleError('EUSER', `id ${text} is out of range`);
  return id;
}

function readDatabase<T>(rootfs: string, name: string, parse: (fields: string[]) => T | undefined): T[] {
  const file = resolveFileInRoot(rootfs, name);
  if (!file) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    // A directory, a fifo, or unreadable: the image has no usable database.
    if (['EISDIR', 'EACCES', 'ENXIO'].includes((error as NodeJS.ErrnoException).code ?? '')) return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => parse(line.split(':')))
    .filter((e): e is T => e !== undefined);
}

function parsePasswd([name, , uid, gid, , home]: string[]): PasswdEntry | undefined {
  if (!name || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? '')) return undefined;
  return { name, uid: Number(uid), gid: Number(gid), home: home || '/' };
}

function parseGroup([name, , gid, members]: string[]): GroupEntry | undefined {
  if (!name || !/^\d+$/.test(gid ?? '')) return undefined;
  return {
    name,
    gid: Number(gid),
    members: (members ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean),
  };
}
