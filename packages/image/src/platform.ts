/**
 * Platforms (`os/arch[/variant]`) and choosing one from an index, as containerd does:
 * Node's arch names become Go's, arm64 defaults to variant v8 and arm to v7.
 */
import type { Descriptor, Platform } from '@oci/specs';
import { ImageError } from './errors.js';

const GO_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64el: 'mips64le',
  loong64: 'loong64',
};
const DEFAULT_VARIANT: Readonly<Record<string, string>> = { arm64: 'v8', arm: 'v7' };

export function hostPlatform(): Platform {
  const architecture = GO_ARCH[process.arch] ?? process.arch;
  return normalizePlatform({ os: process.platform, architecture });
}

/** `linux/arm64`, `linux/arm/v6`, or just `arm64` (linux assumed). */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new ImageError('EPLATFORM', `invalid platform '${text}': expected os/arch[/variant]`);
  }
  const [os, architecture, variant] = parts.length === 1 ? ['linux', parts[0]!] : parts;
  return normalizePlatform({ os: os!, architecture: architecture!, ...(variant && { variant }) });
}

export function normalizePlatform(platform: Platform): Platform {
  const architecture = platform.architecture === 'aarch64' ? 'arm64' : platform.architecture === 'x86_64' ? 'amd64' : platform.architecture;
  const variant = platform.variant ?? DEFAULT_VARIANT[architecture];
  return { os: platform.os, architecture, ...(variant && { variant }) };
}

export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

export function platformMatches(wanted: Platform, offered: Platform): boolean {
  const a = normalizePlatform(wanted);
  const b = normalizePlatform(offered);
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

/** The index entry for `wanted`; EPLATFORM listing what is on offer when none matches. */
export function selectPlatform(manifests: readonly Descriptor[], wanted: Platform, what: string): Descriptor {
  const match = manifests.find((m) => m.platform && platformMatches(wanted, m.platform));
  if (match) return match;
  const offered = manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!));
  throw new ImageError(
    'EPLATFORM',
    `${what} has no image for ${formatPlatform(normalizePlatform(wanted))}; it offers ${offered.length > 0 ? offered.join(', ') : 'no platforms'}`,
  );
}
