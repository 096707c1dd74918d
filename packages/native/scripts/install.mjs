// On install, when the package manager runs it: nothing when the prebuilt addon of this platform
// loads here; else the helper and the addon are built from the C sources (node-gyp: a C
// toolchain, Node's headers, libseccomp-dev), as `npm rebuild @oci/native` does too.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const prebuilt = path.resolve(import.meta.dirname, '..', 'prebuilds', `${process.platform}-${process.arch}`);
const addon = path.join(prebuilt, 'oci_native.node');
// Loaded in a child: a prebuilt that needs a newer glibc than this system's fails to load.
const loads =
  existsSync(addon) && spawnSync(process.execPath, ['-e', `process.dlopen({ exports: {} }, ${JSON.stringify(addon)})`], { stdio: 'ignore' }).status === 0;
if (!loads) {
  const { status } = spawnSync(process.execPath, [path.join(import.meta.dirname, 'build.mjs')], { stdio: 'inherit' });
  process.exit(status ?? 1);
}
