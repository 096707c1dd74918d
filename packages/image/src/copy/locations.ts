/**
 * Where `copy` reads and writes images, in skopeo's words: `docker://REFERENCE`, `oci:DIR[:REF]`,
 * `oci-archive:FILE[:REF]`, `docker-archive:FILE[:REF]`; and, without a transport, an image of
 * the content store by name (`busybox`, `docker.io/library/busybox:latest`). A path ends at its
 * first colon, as skopeo reads it.
 */
import { ImageError } from '../errors.js';
import { parseReference, type Reference } from '../reference.js';

export type ImageLocation =
  | { transport: 'docker'; reference: Reference }
  | { transport: 'oci' | 'oci-archive' | 'docker-archive'; path: string; ref?: string }
  | { transport: 'store'; name: string };

const PATH_TRANSPORTS = ['oci', 'oci-archive', 'docker-archive'] as const;

export function parseLocation(text: string): ImageLocation {
  if (text.startsWith('docker://')) return { transport: 'docker', reference: parseReference(text.slice('docker://'.length)) };
  for (const transport of PATH_TRANSPORTS) {
    if (!text.startsWith(`${transport}:`)) continue;
    const rest = text.slice(transport.length + 1);
    const colon = rest.indexOf(':');
    const path = colon < 0 ? rest : rest.slice(0, colon);
    const ref = colon < 0 ? undefined : rest.slice(colon + 1);
    if (path === '') throw new ImageError('EREFERENCE', `${text}: no path (${transport}:PATH[:REF])`);
    if (ref === '') throw new ImageError('EREFERENCE', `${text}: an empty REF after the path`);
    return { transport, path, ...(ref !== undefined && { ref }) };
  }
  if (/^[a-z-]+:\/\//.test(text) || /^(containers-storage|docker-daemon|dir):/.test(text)) {
    throw new ImageError('EREFERENCE', `${text}: unsupported transport (docker://, oci:, oci-archive:, docker-archive:, or a name in the store)`);
  }
  return { transport: 'store', name: text };
}

export function formatLocation(location: ImageLocation): string {
  switch (location.transport) {
    case 'docker':
      return `docker://${location.reference}`;
    case 'store':
      return location.name;
    default:
      return `${location.transport}:${location.path}${location.ref !== undefined ? `:${location.ref}` : ''}`;
  }
}
