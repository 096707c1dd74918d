/**
 * The runtime binary that engine tests hand to containerd (`--runc-binary`) and podman
 * (`--runtime`): `oci` by default, any runc-compatible binary with OCI_TEST_RUNTIME (e.g.
 * /usr/sbin/runc, to check a test against the reference).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ociBin } from './cli.js';
import { shellQuote } from './run.js';

/**
 * Engines exec the runtime by path with their own environment, so `oci` is reached through a
 * small shell script naming this Node binary explicitly (no PATH lookup of `node`). The script
 * is called `oci`: podman decides by the runtime's base name which features it uses.
 */
export function engineRuntime(dir: string): string {
  const chosen = process.env.OCI_TEST_RUNTIME;
  if (chosen) return chosen;
  const wrapper = path.join(dir, 'oci');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(ociBin)} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}
