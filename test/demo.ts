/**
 * `pnpm demo`: the main job, on a machine without internet. A local registry (Debian's
 * docker-registry) gets a busybox image built from Debian's busybox-static and pushed with
 * `oci push`; then, in an empty directory, `oci pull busybox && oci unpack && oci run` goes
 * through a mirror setting to that registry, exactly as a user types it. Everything the demo
 * makes (registry, store, bundle, state) lives in temp dirs and is removed at the end.
 */
import { spawnSync } from 'node:child_process';
import { pushBusybox } from './harness/busybox.js';
import { ociBin } from './harness/cli.js';
import { startRegistry } from './harness/registry.js';
import { tempDir } from './harness/tmp.js';

// What the container's shell runs: enough to show it is isolated.
const SCRIPT = 'echo "hello from busybox: hostname $(hostname), pid $$, uid $(id -u)"; ps; ls /\n';

const registry = await startRegistry();
const dirs = ['store', 'state', 'work'].map((name) => tempDir(`demo-${name}`));
const [store, state, work] = dirs.map((d) => d.dir) as [string, string, string];
let status = 0;
try {
  await pushBusybox(registry.host);
  const env = { ...process.env, OCI_REGISTRY_MIRRORS: `docker.io=http://${registry.host}`, OCI_STORE: store };
  console.log(`registry at ${registry.host} holds library/busybox:latest; in ${work}:\n`);
  console.log(`export OCI_REGISTRY_MIRRORS=${env.OCI_REGISTRY_MIRRORS} OCI_STORE=${store}`);
  for (const [args, input] of [[['pull', 'busybox']], [['unpack']], [['--root', state, 'run'], SCRIPT]] as [string[], string?][]) {
    console.log(`$ oci ${args.join(' ')}${input ? ` <<< '${input.trim()}'` : ''}`);
    const result = spawnSync(process.execPath, [ociBin, ...args], { cwd: work, env, input, stdio: [input ? 'pipe' : 'ignore', 'inherit', 'inherit'] });
    status = result.status ?? 1;
    if (status !== 0) break;
  }
} finally {
  await registry.stop();
  for (const dir of dirs) dir.remove();
}
console.log(status === 0 ? '\ndemo: done' : `\ndemo: failed (exit ${status})`);
process.exitCode = status;
