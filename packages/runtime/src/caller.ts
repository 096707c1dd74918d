/**
 * Who runs the runtime, as the plan needs to know it (plan/userns.ts): root writes any user
 * namespace map itself; another user maps its own ids directly and others only through shadow's
 * setuid newuidmap and newgidmap, within the subordinate ids /etc/subuid and /etc/subgid grant it.
 */
import { userInfo } from 'node:os';
import { idMapper, SUBGID_FILE, SUBUID_FILE, subordinateIds } from '@oci/bundle/internal/subordinate-ids';
import type { Caller } from './plan/userns.js';

/** This process's effective user. */
export function runtimeCaller(): Caller {
  const uid = process.geteuid!();
  const gid = process.getegid!();
  return uid === 0 ? { uid, gid } : withSubordinateIds({ uid, gid, name: userName() });
}

/** An unprivileged user with what it may map beyond its own ids, from the system's files unless `files` names others. */
export function withSubordinateIds(user: { uid: number; gid: number; name?: string }, files = { subuid: SUBUID_FILE, subgid: SUBGID_FILE }): Caller {
  return {
    ...user,
    subordinate: {
      uid: { file: files.subuid, ranges: subordinateIds(files.subuid, user), mapper: idMapper('newuidmap') },
      gid: { file: files.subgid, ranges: subordinateIds(files.subgid, user), mapper: idMapper('newgidmap') },
    },
  };
}

/** Subordinate ids may be listed by user name. */
function userName(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined; // a uid without a passwd entry: /etc/subuid can still name it by number
  }
}
