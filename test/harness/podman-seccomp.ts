/**
 * podman's default seccomp profile as podman writes it into config.json: containers-common's
 * seccomp.json (installed with podman from Debian) filtered by architecture and capabilities,
 * with the x86_64 architecture map.
 */
import { readFileSync } from 'node:fs';
import type { Seccomp } from '@oci/specs';

export const PODMAN_PROFILE = '/usr/share/containers/seccomp.json';

export function podmanProfile(capabilities: readonly string[]): Seccomp {
  type Filter = { arches?: string[]; caps?: string[]; minKernel?: string };
  type Entry = NonNullable<Seccomp['syscalls']>[number] & { includes?: Filter; excludes?: Filter };
  const file = JSON.parse(readFileSync(PODMAN_PROFILE, 'utf8')) as {
    defaultAction: string;
    defaultErrnoRet?: number;
    archMap: { architecture: string; subArchitectures?: string[] }[];
    syscalls: Entry[];
  };
  const arch = file.archMap.find((a) => a.architecture === 'SCMP_ARCH_X86_64')!;
  const wanted = (e: Entry) =>
    (!e.includes?.arches?.length || e.includes.arches.includes('amd64')) &&
    (e.includes?.caps ?? []).every((c) => capabilities.includes(c)) &&
    !(e.excludes?.arches ?? []).includes('amd64') &&
    !(e.excludes?.caps ?? []).some((c) => capabilities.includes(c));
  return {
    defaultAction: file.defaultAction,
    ...(file.defaultErrnoRet !== undefined && { defaultErrnoRet: file.defaultErrnoRet }),
    architectures: [arch.architecture, ...(arch.subArchitectures ?? [])],
    syscalls: file.syscalls
      .filter(wanted)
      .map(({ names, action, errnoRet, args }) => ({ names, action, ...(errnoRet !== undefined && { errnoRet }), ...(args && { args }) })),
  };
}
