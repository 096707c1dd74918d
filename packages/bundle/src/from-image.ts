/**
 * An image config turned into a runtime config.json by image-spec's conversion rules
 * (conversion.md): args = Entrypoint + Cmd, Env, WorkingDir, User resolved in the rootfs,
 * Volumes as mounts, and the config's other facts as annotations. The rest is the default spec
 * (`runc spec`'s), with a writable rootfs and no terminal unless asked, as Docker runs images.
 */
import path from 'node:path';
import type { IdMapping, ImageConfig, Mount, Spec } from '@oci/specs';
import { DEFAULT_PATH, defaultSpec } from './default-spec.js';
import { BundleError } from './errors.js';
import { toRootless, withUserNamespace } from './rootless.js';
import { resolveUser } from './user.js';

export interface SpecOptions {
  /** The unpacked rootfs on the host (its /etc/passwd and /etc/group resolve User). */
  rootfs: string;
  /** Replaces the image's Cmd (the Entrypoint stays), as `docker run IMAGE ARGS…` does. */
  args?: string[];
  /** Replaces the image's Entrypoint (and drops its Cmd unless `args` are given). */
  entrypoint?: string[];
  /** More NAME=VALUE pairs; a name the image sets too takes this value. */
  env?: string[];
  cwd?: string;
  /** Replaces the image's User. */
  user?: string;
  tty?: boolean;
  /** `runc spec --rootless`'s changes, for an unprivileged user. */
  rootless?: boolean;
  /** The rootfs was shifted into these ranges (unpack's --uid-map/--gid-map): run in a user namespace. */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
}

/** Directories under the bundle that back the image's Volumes (`volumes/…`), to create with it. */
export const VOLUMES_DIR = 'volumes';

export function specFromImage(
  image: Pick<ImageConfig, 'config' | 'os' | 'architecture' | 'variant' | 'os.version' | 'os.features' | 'author' | 'created'>,
  options: SpecOptions,
): Spec {
  const config = image.config ?? {};
  const spec = defaultSpec();
  const proc = spec.process!;

  const entrypoint = options.entrypoint ?? config.Entrypoint ?? [];
  const cmd = options.args ?? (options.entrypoint ? [] : (config.Cmd ?? []));
  proc.args = [...entrypoint, ...cmd];
  if (proc.args.length === 0) throw new BundleError('ECONFIG', 'the image has neither Entrypoint nor Cmd: give the command to run');

  const user = resolveUser(options.rootfs, options.user ?? config.User);
  proc.user = { uid: user.uid, gid: user.gid, ...(user.additionalGids.length > 0 && { additionalGids: user.additionalGids }) };
  proc.env = mergeEnv(
    [DEFAULT_PATH, ...(user.home ? [`HOME=${user.home}`] : []), ...(options.tty ? ['TERM=xterm'] : [])],
    [...(config.Env ?? []), ...(options.env ?? [])],
  );
  const cwd = options.cwd ?? (config.WorkingDir || '/');
  if (!cwd.startsWith('/')) throw new BundleError('ECONFIG', `working directory '${cwd}' is not absolute`);
  proc.cwd = path.posix.normalize(cwd);
  proc.terminal = options.tty ?? false;
  spec.root = { path: 'rootfs', readonly: false };

  spec.mounts = [...spec.mounts!, ...volumeMounts(config.Volumes)];
  spec.annotations = annotations(image);
  if (options.uidMappings?.length || options.gidMappings?.length) withUserNamespace(spec, options.uidMappings ?? [], options.gidMappings ?? []);
  if (options.rootless) toRootless(spec);
  return spec;
}

/** `NAME=VALUE` lists merged: a later NAME replaces an earlier one in place. */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const merged = new Map<string, string>();
  for (const pair of [...base, ...overrides]) {
    const eq = pair.indexOf('=');
    merged.set(eq < 0 ? pair : pair.slice(0, eq), pair);
  }
  return [...merged.values()];
}

/**
 * The bundle-local directory that backs the volume at `destination`: `volumes/` and the
 * destination, normalised, as one name: `/` written `_`, and `_` and `%` escaped (`%5F`, `%25`)
 * so that no two destinations share a directory (`/a/b` is `a_b`, `/a_b` is `a%5Fb`).
 */
export function volumeSource(destination: string): string {
  const name = volumeDestination(destination)
    .slice(1)
    .replace(/[%_]/g, (c) => (c === '%' ? '%25' : '%5F'))
    .replace(/\//g, '_');
  return `${VOLUMES_DIR}/${name}`;
}

/**
 * A volume's path normalised ("/a/../b/" is "/b"): it names a directory in the container and,
 * through volumeSource, one on the host, which "/.." must not make the bundle directory itself.
 * Like Docker, refuses a relative path and the container's root.
 */
function volumeDestination(volume: string): string {
  if (!volume.startsWith('/')) throw new BundleError('ECONFIG', `volume '${volume}' is not an absolute path`);
  const destination = path.posix.normalize(volume).replace(/(.)\/+$/, '$1');
  if (destination === '/') throw new BundleError('ECONFIG', `volume '${volume}' is the container's root directory, which cannot be a volume`);
  return destination;
}

function volumeMounts(volumes: Record<string, object> | undefined): Mount[] {
  const destinations = new Set(Object.keys(volumes ?? {}).map(volumeDestination));
  return [...destinations].sort().map((destination) => ({ destination, type: 'bind', source: volumeSource(destination), options: ['rbind', 'rw'] }));
}

// conversion.md, "Annotation Fields": facts of the config that have no place in config.json.
function annotations(image: Parameters<typeof specFromImage>[0]): Record<string, string> {
  const config = image.config ?? {};
  const result: Record<string, string> = { ...config.Labels };
  const implied: Record<string, string | undefined> = {
    'org.opencontainers.image.os': image.os,
    'org.opencontainers.image.architecture': image.architecture,
    'org.opencontainers.image.variant': image.variant,
    'org.opencontainers.image.os.version': image['os.version'],
    'org.opencontainers.image.os.features': image['os.features']?.join(','),
    'org.opencontainers.image.author': image.author,
    'org.opencontainers.image.created': image.created,
    'org.opencontainers.image.stopSignal': config.StopSignal,
    'org.opencontainers.image.exposedPorts': config.ExposedPorts ? Object.keys(config.ExposedPorts).join(',') : undefined,
  };
  for (const [key, value] of Object.entries(implied)) if (value !== undefined && value !== '') result[key] = value;
  return result;
}
