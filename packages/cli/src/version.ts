/**
 * `oci --version`, in runc's shape (engines show it; podman puts it in `podman info`), with
 * libseccomp's version as runc prints it: the one linked into the native addon.
 */
import { RUNTIME_SPEC_VERSION } from '@oci/bundle/runtime-spec';
import { loadAddon } from '@oci/native';
import packageJson from '../package.json' with { type: 'json' };

export function versionText(): string {
  const libseccomp = loadAddon()?.seccompInfo().version ?? 'none (the native addon is not built)';
  return `oci version ${packageJson.version}\nspec: ${RUNTIME_SPEC_VERSION}\nnode: ${process.version}\nlibseccomp: ${libseccomp}\n`;
}
