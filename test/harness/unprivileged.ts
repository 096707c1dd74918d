/**
 * `oci` as an unprivileged user: uid and gid 65534 (nobody), no supplementary group and no
 * capability, as setpriv(1) makes it from root. Each call runs in a private mount namespace
 * where the repository is bound at a world-readable path (so this works wherever the clone
 * lives, even under a 0700 /root) and, when given, the test's own /etc/subuid and /etc/subgid
 * are bound over the system's (newuidmap reads those). Nothing of it is seen outside.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ociBin, type Result } from './cli.js';
import { tempDir } from './tmp.js';

export const NOBODY = 65534;

const SCRIPT = `
set -e
mount --bind "$REPO" "$MOUNTED"
if [ -n "$SUBUID" ]; then
  mount --bind "$SUBUID" /etc/subuid
  mount --bind "$SUBGID" /etc/subgid
fi
cd "$WORKDIR"
exec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups \\
  env -i HOME=/nonexistent PATH=/usr/bin:/bin XDG_RUNTIME_DIR="$RUNTIME_DIR" "$NODE" "$MOUNTED/packages/cli/bin/oci.cjs" "$@"
`;

export interface Unprivileged {
  /** A directory nobody owns, for bundles and output. */
  dir: string;
  /** nobody's XDG_RUNTIME_DIR: the runtime's state root goes in it. */
  runtimeDir: string;
  /** `oci ARGS` as nobody, in `cwd` (default: dir), stdout and stderr through files (a container may keep them open). */
  oci(args: readonly string[], cwd?: string): Result;
  remove(): void;
}

export interface UnprivilegedOptions {
  /** Lines of /etc/subuid and /etc/subgid as nobody sees them. */
  subordinate?: string;
}

export function unprivileged({ subordinate }: UnprivilegedOptions = {}): Unprivileged {
  const { dir, remove } = tempDir('nobody');
  chmodSync(dir, 0o755);
  const mounted = path.join(dir, 'repository');
  const runtimeDir = path.join(dir, 'run');
  const work = path.join(dir, 'work');
  for (const d of [mounted, runtimeDir, work]) mkdirSync(d, { mode: 0o700 });
  chmodSync(mounted, 0o755);
  for (const d of [runtimeDir, work]) chownSync(d, NOBODY, NOBODY);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    REPO: path.resolve(path.dirname(ociBin), '..', '..', '..'),
    MOUNTED: mounted,
    RUNTIME_DIR: runtimeDir,
    NODE: process.execPath,
  };
  if (subordinate !== undefined) {
    // Bound over the system's files, which must exist (Debian's images have them, empty).
    for (const file of ['/etc/subuid', '/etc/subgid']) if (!existsSync(file)) writeFileSync(file, '', { mode: 0o644 });
    env.SUBUID = env.SUBGID = path.join(dir, 'subid');
    writeFileSync(env.SUBUID, subordinate, { mode: 0o644 });
  }
  let calls = 0;
  return {
    dir: work,
    runtimeDir,
    oci(args, cwd = work) {
      // Files of this call's own: a container started by an earlier call still writes to those it got.
      const out = path.join(dir, `.out-${++calls}`);
      const err = path.join(dir, `.err-${calls}`);
      const fds = [openSync(out, 'w'), openSync(err, 'w')];
      try {
        const { status } = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', SCRIPT, 'sh', ...args], {
          env: { ...env, WORKDIR: cwd },
          stdio: ['ignore', fds[0]!, fds[1]!],
        });
        return { status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
      } finally {
        for (const fd of fds) closeSync(fd);
        rmSync(out, { force: true });
        rmSync(err, { force: true });
      }
    },
    remove() {
      // Containers left by a failed test: deleted as root, from nobody's state root.
      const root = path.join(runtimeDir, 'oci');
      if (existsSync(root))
        spawnSync(process.execPath, [ociBin, '--root', root, 'list', '-q'], { encoding: 'utf8' })
          .stdout.split('\n')
          .filter(Boolean)
          .forEach((id) => {
            spawnSync(process.execPath, [ociBin, '--root', root, 'delete', '--force', id]);
          });
      remove();
    },
  };
}
