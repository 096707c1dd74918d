import path from 'node:path';
import { defineCommand } from '../command.js';
import { storeDir } from '../paths.js';
import { progressReporter, unpackListener } from '../progress.js';

export default defineCommand({
  name: 'unpack',
  usage: '[options] [REF] [BUNDLE]',
  options: {
    force: { type: 'boolean', describe: 'replace the bundle if BUNDLE already holds one' },
    rootless: { type: 'boolean', describe: 'no chown, devices skipped, a rootless config.json (default when not root)' },
    'uid-map': { type: 'string', value: 'MAP', describe: 'store files under shifted uids, containerID:hostID:size[,…], and run in a user namespace' },
    'gid-map': { type: 'string', value: 'MAP', describe: 'the same for gids' },
    platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', describe: 'the image to take from a multi-platform index (default: this host)' },
    tty: { type: 'boolean', short: 't', describe: 'config.json asks for a terminal' },
  },
  positionals: { min: 0, max: 2 },
  completes: 'image',
  uses: ['store'],
  async run({ options, positionals }, context) {
    const { globals, log } = context;
    // Modules, not @oci/image's index, which would load the registry client (node:http, node:https…) too.
    const [{ Store }, { parseIdMap }, { parsePlatform }, { parseReference }, { createBundle }] = await Promise.all([
      import('@oci/image/store/layout'),
      import('@oci/image/layer/ids'),
      import('@oci/image/platform'),
      import('@oci/image/reference'),
      import('@oci/bundle'),
    ]);
    const store = await Store.open(storeDir(globals), { create: true });
    const name = positionals[0] !== undefined ? await storeName(store, positionals[0], parseReference) : await store.lastPulled();
    if (name === undefined) throw new Error('no image pulled yet: give a REF (oci unpack REF [BUNDLE])');
    const bundle = path.resolve(positionals[1] ?? '.');
    const skipped = new Map<string, number>();
    const progress = await progressReporter({}, context);
    const result = await store.lease(() =>
      createBundle({ store, image: name, ...(options.platform && { platform: parsePlatform(options.platform) }) }, bundle, {
        force: options.force,
        rootless: options.rootless || undefined,
        tty: options.tty,
        uidMap: options['uid-map'] ? parseIdMap(options['uid-map']) : undefined,
        gidMap: options['gid-map'] ? parseIdMap(options['gid-map']) : undefined,
        onProgress: unpackListener(progress.listener),
        onSkip: (item) => {
          const kind = `${item.what}s (${item.reason.split(': ').pop()})`;
          skipped.set(kind, (skipped.get(kind) ?? 0) + 1);
          log.debug(`skipped ${item.what} ${item.path}: ${item.reason}`);
        },
      }),
    ).finally(() => progress.finish());
    for (const [kind, count] of skipped) log.warn(`unpack ${name}: skipped ${count} ${kind}`);
    log.debug(`unpacked ${name} (${result.image?.descriptor.digest}) into ${bundle}`);
  },
});

/** A name the store holds as given, or the normalised reference (`busybox` → `docker.io/library/busybox:latest`). */
async function storeName(store: { refs(): Promise<Map<string, unknown>> }, ref: string, parse: (ref: string) => { toString(): string }): Promise<string> {
  const refs = await store.refs();
  if (refs.has(ref)) return ref;
  try {
    return parse(ref).toString();
  } catch {
    return ref;
  }
}
