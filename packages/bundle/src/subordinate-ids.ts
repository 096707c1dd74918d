/**
 * Subordinate ids (shadow's /etc/subuid and /etc/subgid, subuid(5)): the host ids a user may map
 * into its user namespaces through the setuid newuidmap and newgidmap, beside its own. Each line
 * is `OWNER:START:COUNT`, OWNER a user name or a numeric uid.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface IdRange {
  start: number;
  count: number;
}

export const SUBUID_FILE = '/etc/subuid';
export const SUBGID_FILE = '/etc/subgid';

/** The ranges `file` grants to the user (its uid, or its name when it has one); none when the file is missing. */
export function subordinateIds(file: string, owner: { uid: number; name?: string }): IdRange[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const ranges: IdRange[] = [];
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (name !== String(owner.uid) && name !== owner.name) continue;
    const range = { start: Number(start), count: Number(count) };
    if (Number.isSafeInteger(range.start) && Number.isSafeInteger(range.count) && range.count > 0) ranges.push(range);
  }
  return ranges;
}

/**
 * Where shadow's setuid newuidmap or newgidmap is, or undefined. Looked for in the system's
 * directories rather than through PATH: podman runs the runtime without one.
 */
export function idMapper(name: 'newuidmap' | 'newgidmap'): string | undefined {
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin']) {
    const file = `${dir}/${name}`;
    if (existsSync(file)) return file;
  }
  return undefined;
}
