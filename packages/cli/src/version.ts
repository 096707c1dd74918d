/**
 * `oci --version`, in runc's shape (engines show it; podman puts it in `podman info`), with
 * libseccomp's version as runc prints it: the one linked into the native addon. `oci version`
 * says more (version-info.ts); it lives apart so that the entry, which every command loads,
 * stays small.
 */

import { loadAddon } from '@oci/native';
import { RUNTIME_SPEC_VERSION } from '@oci/specs';
import packageJson from '../package.json' with { type: 'json' };

export const NO_ADDON = 'none (the native addon is not built)';

export function versionText(): string {
  const libseccomp = loadAddon()?.seccompInfo().version ?? NO_ADDON;
  return `oci version ${packageJson.version}\nspec: ${RUNTIME_SPEC_VERSION}\nnode: ${process.version}\nlibseccomp: ${libseccomp}\n`;
}
