/**
 * What this runtime implements, as runtime-spec features.md describes it (`oci features`): read
 * from the tables the runtime itself uses, and for seccomp from libseccomp and the kernel, so it
 * cannot claim what is not built.
 */

import { requireAddon } from '@oci/native';
import { RUNTIME_SPEC_VERSION } from '@oci/specs';
import { NAMESPACE_TYPES } from './config.js';
import { HOOK_KINDS } from './hooks.js';
import { MOUNT_OPTIONS } from './plan/mounts.js';
import { CAPABILITIES } from './plan/process.js';
import { libseccompArch, SECCOMP_ACTIONS, SECCOMP_ARCHITECTURES, SECCOMP_FLAGS, SECCOMP_OPERATORS } from './plan/seccomp.js';

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean; rdma: boolean };
    seccomp: { enabled: boolean; actions: string[]; operators: string[]; archs: string[]; knownFlags: string[]; supportedFlags: string[] };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
    intelRdt: { enabled: boolean };
    mountExtensions: { idmap: { enabled: boolean } };
  };
  annotations: Record<string, string>;
}

/** The lowest config.json version this runtime runs (config.ts accepts 1.x). */
const OCI_VERSION_MIN = '1.0.0';

export function features(): Features {
  const info = requireAddon().seccompInfo(SECCOMP_ARCHITECTURES.map(libseccompArch));
  const knownArchs = new Set(info.architectures);
  const flags = Object.keys(SECCOMP_FLAGS) as (keyof typeof SECCOMP_FLAGS)[];
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: RUNTIME_SPEC_VERSION,
    hooks: [...HOOK_KINDS],
    mountOptions: [...MOUNT_OPTIONS],
    linux: {
      namespaces: [...NAMESPACE_TYPES].sort(),
      capabilities: Object.keys(CAPABILITIES),
      // cgroupsPath is a path: the systemd "slice:prefix:name" form is not built.
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: Object.keys(SECCOMP_ACTIONS).sort(),
        operators: [...SECCOMP_OPERATORS].sort(),
        archs: SECCOMP_ARCHITECTURES.filter((name) => knownArchs.has(libseccompArch(name))).sort(),
        knownFlags: flags,
        supportedFlags: flags.filter((name) => (info.flags & SECCOMP_FLAGS[name]) !== 0),
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'io.github.seccomp.libseccomp.version': info.version },
  };
}
