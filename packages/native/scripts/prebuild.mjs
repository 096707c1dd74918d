// `npm pack` / `pnpm pack` (prepack): the package ships the helper and the addon built here, in
// prebuilds/PLATFORM-ARCH/, so that installing it needs no C toolchain, no libseccomp-dev (linked
// in statically) and no install script (npm 11 and pnpm 10 run a dependency's only when the user
// allows it). `--clean` (postpack) removes them from the workspace again. pnpm packs a file
// executable only when package.json says so: publishConfig.executableFiles names the helper.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const packageDir = path.resolve(import.meta.dirname, '..');
const prebuilds = path.join(packageDir, 'prebuilds');
rmSync(prebuilds, { recursive: true, force: true });
if (!process.argv.includes('--clean')) {
  const { status } = spawnSync(process.execPath, [path.join(import.meta.dirname, 'build.mjs')], { stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? 1);
  const target = path.join(prebuilds, `${process.platform}-${process.arch}`);
  mkdirSync(target, { recursive: true });
  for (const file of ['oci-helper', 'oci_native.node']) copyFileSync(path.join(packageDir, 'build', 'Release', file), path.join(target, file));
}
