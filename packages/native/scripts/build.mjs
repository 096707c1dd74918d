// Builds the helper executable, the `oci` front door and the addon with node-gyp: configured and
// built on install (scripts/install.mjs, when there is no prebuilt addon), rebuilt incrementally
// by `pnpm build` (make compiles only what changed), so that a change to the C sources never
// leaves a stale helper behind. A binding.gyp newer than the Makefile it was configured into (a
// target added) is configured again. `--rebuild` starts from scratch.
// node-gyp downloads Node's headers unless told where they are; these machines have no route to
// nodejs.org but ship the headers beside the node binary, so point it there when they exist.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

// The package manager's own node-gyp when it runs us (npm and pnpm ship one and say where),
// else the workspace's.
const nodeGyp = process.env.npm_config_node_gyp ?? createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const packageDir = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
const makefile = path.join(packageDir, 'build', 'Makefile');
const configured = existsSync(makefile) && statSync(makefile).mtimeMs >= statSync(path.join(packageDir, 'binding.gyp')).mtimeMs;
const command = process.argv.includes('--rebuild') || !configured ? 'rebuild' : 'build';
const prefix = path.resolve(process.execPath, '..', '..');
const args = [nodeGyp, command, '--jobs', 'max', '--loglevel', 'warn'];
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const { status } = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: packageDir });
process.exit(status ?? 1);
