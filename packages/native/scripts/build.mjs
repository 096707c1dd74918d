// Builds the helper executable and the addon with node-gyp.
// node-gyp downloads Node's headers unless told where they are; these machines have no route to
// nodejs.org but ship the headers beside the node binary, so point it there when they exist.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const prefix = path.resolve(process.execPath, '..', '..');
const args = [nodeGyp, 'rebuild', '--jobs', 'max'];
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const { status } = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(status ?? 1);
