import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineCommand } from '../command.js';

export default defineCommand({
  usage: '[options]',
  options: {
    bundle: { type: 'string', short: 'b', value: 'DIR', describe: 'bundle directory (default: the current directory)' },
    rootless: {
      type: 'boolean',
      describe: 'a spec for an unprivileged user, like `runc spec --rootless`, with its subordinate ids (/etc/subuid) when it has some',
    },
  },
  positionals: { min: 0, max: 0 },
  async run({ options }) {
    const [{ defaultSpec }, { toRootless }] = await Promise.all([import('@oci/bundle/default-spec'), import('@oci/bundle/rootless')]);
    const file = path.resolve(options.bundle ?? '.', 'config.json');
    const spec = options.rootless ? toRootless(defaultSpec(), await rootlessIds()) : defaultSpec();
    try {
      await writeFile(file, `${JSON.stringify(spec, null, '\t')}\n`, { flag: 'wx' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new Error(`${file} exists: remove it first`);
      if (code === 'ENOENT' || code === 'ENOTDIR')
        throw new Error(`bundle directory ${path.dirname(file)}: ${code === 'ENOENT' ? 'no such directory' : 'not a directory'}`);
      throw error;
    }
  },
});

/** The caller's ids and, when newuidmap and newgidmap can map them, its subordinate ids. */
async function rootlessIds() {
  const { idMapper, subordinateIds, SUBGID_FILE, SUBUID_FILE } = await import('@oci/bundle/subordinate-ids');
  const { userInfo } = await import('node:os');
  const uid = process.geteuid!();
  const gid = process.getegid!();
  if (!idMapper('newuidmap') || !idMapper('newgidmap')) return { uid, gid };
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = undefined; // a uid without a passwd entry
  }
  return { uid, gid, subordinate: { uids: subordinateIds(SUBUID_FILE, { uid, name }), gids: subordinateIds(SUBGID_FILE, { uid, name }) } };
}
