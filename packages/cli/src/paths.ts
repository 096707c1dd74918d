/** Default locations of the content store and the runtime's state, as DESIGN.md's contract sets them. */
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

export function stateRoot(globals: GlobalOptions): string {
  if (globals.root) return path.resolve(globals.root);
  if (isRoot() || !process.env.XDG_RUNTIME_DIR) return '/run/oci';
  return path.join(process.env.XDG_RUNTIME_DIR, 'oci');
}
