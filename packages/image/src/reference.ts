/**
 * Image references, parsed and normalised as Docker does (distribution's reference grammar):
 * `busybox` → `docker.io/library/busybox:latest`; `host:5000/ns/repo:tag@sha256:…`.
 */
import { parseDigest } from './digest.js';
import { ImageError } from './errors.js';

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const MAX_NAME_LENGTH = 255;

export class Reference {
  constructor(
    /** Registry host[:port], `docker.io` for Docker Hub. */
    readonly registry: string,
    /** Repository path, `library/busybox` for an official Docker Hub image. */
    readonly repository: string,
    /** The tag; `latest` when neither tag nor digest was given. */
    readonly tag: string | undefined,
    readonly digest: string | undefined,
  ) {}

  /** registry/repository */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** The tag or digest a registry is asked for: the digest when there is one. */
  get version(): string {
    return this.digest ?? this.tag!;
  }

  toString(): string {
    return `${this.name}${this.tag ? `:${this.tag}` : ''}${this.digest ? `@${this.digest}` : ''}`;
  }

  /** The same repository at another tag or digest. */
  with(version: { tag?: string; digest?: string }): Reference {
    return new Reference(this.registry, this.repository, version.tag, version.digest);
  }
}

export function parseReference(input: string): Reference {
  const fail = (why: string): never => {
    throw new ImageError('EREFERENCE', `invalid reference '${input}': ${why}`);
  };
  if (input === '') fail('empty');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch {
      fail(`bad digest '${digest}'`);
    }
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(`bad tag '${tag}'`);
  }

  let registry = DEFAULT_REGISTRY;
  let repository = rest;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first) {
    registry = first;
    repository = rest.slice(slash + 1);
    if (!DOMAIN.test(registry)) fail(`bad registry host '${registry}'`);
  }
  if (registry === 'index.docker.io') registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;

  for (const component of repository.split('/')) {
    if (PATH_COMPONENT.test(component)) continue;
    if (PATH_COMPONENT.test(component.toLowerCase())) fail('repository name must be lowercase');
    fail(`bad repository path component '${component}'`);
  }
  if (`${registry}/${repository}`.length > MAX_NAME_LENGTH) fail(`name longer than ${MAX_NAME_LENGTH} characters`);

  return new Reference(registry, repository, tag ?? (digest ? undefined : DEFAULT_TAG), digest);
}
