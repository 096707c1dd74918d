/**
 * User and group id maps (`containerID:hostID:size`, as in /proc/PID/uid_map and runc's
 * config): a rootfs meant for a user-namespaced container stores each file under the host id
 * its container id maps to.
 */
import type { IdMapping } from '@oci/specs';
import { ImageError } from '../errors.js';

/** "0:100000:65536" (several separated by commas). */
export function parseIdMap(text: string): IdMapping[] {
  return text.split(',').map((part) => {
    const fields = part.split(':');
    const numbers = fields.map(Number);
    if (fields.length !== 3 || fields.some((f) => !/^\d+$/.test(f)) || numbers[2] === 0) {
      throw new ImageError('ELAYER', `invalid id map '${part}': expected containerID:hostID:size`);
    }
    return { containerID: numbers[0]!, hostID: numbers[1]!, size: numbers[2]! };
  });
}

/** The host id for container id `id`; without a map, the id itself. */
export function mapId(map: readonly IdMapping[] | undefined, id: number, kind: 'uid' | 'gid'): number {
  if (!map || map.length === 0) return id;
  for (const m of map) {
    if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  }
  throw new ImageError('ELAYER', `${kind} ${id} is outside the ${kind} map`);
}
