/** What `oci version` says, as `podman version` does: oci's packages, Node, libseccomp, the helper, the OS and architecture. */

import bundlePackage from '@oci/bundle/package.json' with { type: 'json' };
import imagePackage from '@oci/image/package.json' with { type: 'json' };
import { helperPath, loadAddon } from '@oci/native';
import nativePackage from '@oci/native/package.json' with { type: 'json' };
import runtimePackage from '@oci/runtime/package.json' with { type: 'json' };
import { RUNTIME_SPEC_VERSION } from '@oci/specs';
import packageJson from '../package.json' with { type: 'json' };
import { NO_ADDON } from './version.js';

export interface VersionInfo {
  Version: string;
  Packages: Record<string, string>;
  RuntimeSpec: string;
  NodeVersion: string;
  Libseccomp: string;
  Helper: string;
  OsArch: string;
}

export async function versionInfo(): Promise<VersionInfo> {
  const packages = [packageJson, imagePackage, bundlePackage, runtimePackage, nativePackage];
  return {
    Version: packageJson.version,
    Packages: Object.fromEntries(packages.map((p) => [p.name, p.version])),
    RuntimeSpec: RUNTIME_SPEC_VERSION,
    NodeVersion: process.version,
    Libseccomp: loadAddon()?.seccompInfo().version ?? NO_ADDON,
    Helper: await helperVersion(),
    OsArch: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

/** What the built helper says of itself (`oci-helper --version`), which may differ from the sources when they were not rebuilt. */
async function helperVersion(): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile(helperPath(), ['--version'], { timeout: 5000 }, (error, stdout) =>
      resolve(error ? `none (${helperPath()}: ${(error as NodeJS.ErrnoException).code ?? error.message})` : stdout.trim().replace(/^oci-helper /, '')),
    );
  });
}
