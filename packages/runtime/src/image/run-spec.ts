/**
 * What `oci run IMAGE`'s options change in the config.json made from the image (docker's and
 * podman's flags, as far as a daemonless runtime without a network stack can honour them).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Mount, Resources, Spec } from '@oci/specs';
import { invalid } from '../errors.js';

export interface Volume {
  /** A host path (created as a directory when missing, as docker does). */
  source: string;
  /** An absolute path in the container. */
  destination: string;
  readonly?: boolean;
}

export interface RunSpecOptions {
  volumes?: readonly Volume[];
  /** The rootfs read-only (writable volumes and tmpfs mounts stay so). */
  readonly?: boolean;
  hostname?: string;
  /** none (the default): a network namespace of its own with only loopback; host: the host's network. */
  network?: 'none' | 'host';
  resources?: Resources;
}

/** Files a container on the host's network needs from the host to resolve names, as podman binds them. */
const HOST_NETWORK_FILES = ['/etc/resolv.conf', '/etc/hosts'];

export function applyRunOptions(spec: Spec, options: RunSpecOptions): void {
  if (options.readonly) spec.root!.readonly = true;
  if (options.hostname !== undefined) spec.hostname = options.hostname;
  const mounts = (spec.mounts ??= []);
  for (const volume of options.volumes ?? []) mounts.push(volumeMount(volume));
  if (options.network === 'host') {
    spec.linux!.namespaces = (spec.linux!.namespaces ?? []).filter((ns) => ns.type !== 'network');
    for (const file of HOST_NETWORK_FILES) if (existsSync(file)) mounts.push({ destination: file, type: 'bind', source: file, options: ['rbind', 'ro'] });
  }
  if (options.resources && Object.keys(options.resources).length > 0) spec.linux!.resources = { ...spec.linux!.resources, ...options.resources };
}

/** `-v SRC:DST[:ro]`: SRC made absolute, created when missing (a directory). */
export function parseVolume(text: string): Volume {
  const parts = text.split(':');
  const [source, destination, mode] = parts;
  if (parts.length < 2 || parts.length > 3 || !source || !destination || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw invalid(`volume '${text}': expected SRC:DST[:ro]`);
  }
  if (!destination.startsWith('/')) throw invalid(`volume '${text}': ${destination} is not an absolute path`);
  return { source: path.resolve(source), destination, readonly: mode === 'ro' };
}

function volumeMount({ source, destination, readonly }: Volume): Mount {
  if (!statSync(source, { throwIfNoEntry: false })) mkdirSync(source, { recursive: true, mode: 0o755 });
  return { destination, type: 'bind', source, options: ['rbind', readonly ? 'ro' : 'rw'] };
}
