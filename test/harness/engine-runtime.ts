/**
 * The runtime binary that engine tests hand to containerd (`--runc-binary`) and podman
 * (`--runtime`): `oci` by default, any runc-compatible binary with OCI_TEST_RUNTIME (e.g.
 * /usr/sbin/runc, to check a test against the reference).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ociFrontDoor } from './cli.js';
import { shellQuote } from './run.js';

/**
 * Engines exec the runtime by path with their own environment, so `oci` is reached through a
 * small shell script that puts this Node binary first on PATH (where the front door finds
 * `node`) and passes OCI_NODE_ONLY on (a suite's Node-path twin sets it). The script is called
 * `oci`: podman decides by the runtime's base name which features it uses.
 */
export function engineRuntime(dir: string): string {
  const chosen = process.env.OCI_TEST_RUNTIME;
  if (chosen) return chosen;
  const wrapper = path.join(dir, 'oci');
  const nodeOnly = process.env.OCI_NODE_ONLY ? `export OCI_NODE_ONLY=${shellQuote(process.env.OCI_NODE_ONLY)}\n` : '';
  writeFileSync(wrapper, `#!/bin/sh\nexport PATH=${shellQuote(path.dirname(process.execPath))}:"$PATH"\n${nodeOnly}exec ${shellQuote(ociFrontDoor)} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}
