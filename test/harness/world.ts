/**
 * A world where the README's examples run as written: a private mount and network namespace
 * (unshare(1)) in which the registries they name (docker.io, registry.example, mirror.example,
 * ghcr.io, 127.0.0.1:5000) are the harness's docker-registry processes, found through an
 * /etc/hosts of the world's own and trusted through a CA of its own (NODE_EXTRA_CA_CERTS); the
 * paths they use as root (/var/lib/oci, /run/oci, /srv, /usr/local/bin) are fresh directories
 * bound over the host's. Nothing of it is seen outside, and it all goes when the world ends.
 * The examples run one after another, as a reader would run them; see world-main.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './run.js';
import { tempDir } from './tmp.js';

export interface Example {
  /** Names it in the results: README.md:59. */
  name: string;
  /** A shell script (sh -e) or an ES module (a .mjs file, in `moduleDir`). */
  lang: 'sh' | 'js';
  code: string;
  /** Shell commands run first in the same directory: what the example takes as given (files, images). */
  given?: string;
  /** Shell commands run afterwards in the same directory, to see what the example left (`Ran.afterwards`). */
  afterwards?: string;
  /** At a terminal (a pty): each interactive shell the example starts is sent `exit` at its prompt. */
  terminal?: boolean;
  /** As nobody (uid and gid 65534, no capability), in a directory nobody owns. */
  asNobody?: boolean;
  /** Where a module is written, so that its imports resolve from there (default: test/dist). */
  moduleDir?: string;
  /** Its working directory (default: a fresh one); `given` runs there too. */
  cwd?: string;
  /** Directories put first on PATH. */
  path?: readonly string[];
  /** More environment (the world's is a clean one: PATH, HOME, TOKEN, NODE_EXTRA_CA_CERTS). */
  env?: Record<string, string>;
  /** Starts a private podman and passes its environment (CONTAINERS_CONF…), its containers.conf listing these runtimes as taking --log-format=json. */
  podman?: { jsonRuntimes: readonly string[] };
}

export interface Ran {
  /** The status of `given`, then of the example (null: killed at the timeout). */
  givenStatus: number | null;
  status: number | null;
  /** At a terminal, stdout holds both streams. */
  stdout: string;
  stderr: string;
  /** What `afterwards` printed (stdout and stderr), and its status. */
  afterwards?: { status: number | null; output: string };
}

/** The password `oci login -u me` needs at ghcr.io in this world: the examples' $TOKEN. */
export const WORLD_TOKEN = 'world-token';

const main = fileURLToPath(new URL('world-main.js', import.meta.url));

/** Runs the examples in a new world, in order; resolves with each one's outcome by name. */
export async function runInWorld(examples: readonly Example[], { timeout = 900_000 } = {}): Promise<Map<string, Ran>> {
  const world = tempDir('world');
  try {
    writeFileSync(path.join(world.dir, 'examples.json'), JSON.stringify(examples));
    const { status, stderr } = await run(
      'unshare',
      ['--mount', '--net', '--propagation', 'private', '--', process.execPath, '--enable-source-maps', main, world.dir],
      { timeout },
    );
    if (status !== 0) throw new Error(`the world failed (${status}): ${stderr}`);
    return new Map(Object.entries(JSON.parse(readFileSync(path.join(world.dir, 'results.json'), 'utf8')) as Record<string, Ran>));
  } finally {
    world.remove();
  }
}
