/** Default locations of the content store and the runtime's state, as DESIGN.md's contract sets them. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { GlobalOptions } from './command.js';

const isRoot = () => process.getuid?.() === 0;

export function storeDir(globals: GlobalOptions): string {
  if (globals.store) return path.resolve(globals.store);
  if (process.env.OCI_STORE) return path.resolve(process.env.OCI_STORE);
  if (isRoot()) return '/var/lib/oci';
  return path.join(process.env.XDG_DATA_HOME || path.join(homedir(), '.local', 'share'), 'oci');
}

/** runc's choice: /run/oci for root, $XDG_RUNTIME_DIR/oci otherwise; unset (podman sets it empty), the user's /run/user/UID when it exists. */
export function stateRoot(globals: GlobalOptions): string {
  if (globals.root) return path.resolve(globals.root);
  if (isRoot()) return '/run/oci';
  if (process.env.XDG_RUNTIME_DIR) return path.join(process.env.XDG_RUNTIME_DIR, 'oci');
  const own = `/run/user/${process.getuid!()}`;
  return existsSync(own) ? path.join(own, 'oci') : '/run/oci';
}
