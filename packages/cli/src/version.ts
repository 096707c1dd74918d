/** `oci --version`, in runc's shape: engines show it and some parse its first line. */
import { RUNTIME_SPEC_VERSION } from '@oci/bundle/runtime-spec';
import packageJson from '../package.json' with { type: 'json' };

export function versionText(): string {
  return `oci version ${packageJson.version}\nspec: ${RUNTIME_SPEC_VERSION}\nnode: ${process.version}\n`;
}
