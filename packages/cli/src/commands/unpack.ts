import path from 'node:path';
import { UsageError } from '../args.js';
import { defineCommand } from '../command.js';
import { storeDir } from '../paths.js';
import { unpackListener, withProgress } from '../progress.js';
import { openStore } from '../store.js';

export default defineCommand({
  usage: '[options] [REF] [BUNDLE]',
  options: {
    force: { type: 'boolean', describe: 'replace the bundle if BUNDLE already holds one' },
    rootless: { type: 'boolean', describe: 'no chown, devices skipped, a rootless config.json (default when not root)' },
    'uid-map': { type: 'string', value: 'MAP', describe: 'store files under shifted uids, containerID:hostID:size[,…], and run in a user namespace' },
    'gid-map': { type: 'string', value: 'MAP', describe: 'the same for gids' },
    platform: { type: 'string', value: 'OS/ARCH[/VARIANT]', describe: 'the image to take from a multi-platform index (default: this host)' },
    tty: { type: 'boolean', short: 't', describe: 'config.json asks for a terminal' },
    overlay: {
      type: 'boolean',
      describe:
        "rootfs as an overlay of the store's layer snapshots, made once per layer and shared (O(1) per bundle); the container mounts it, so BUNDLE/rootfs stays empty on the host; rm -rf BUNDLE removes it",
    },
  },
  positionals: { min: 0, max: 2 },
  completes: 'image',
  uses: ['store'],
  async run({ options, positionals }, context) {
    const { globals, log } = context;
    if (options.overlay && (options['uid-map'] || options['gid-map']))
      throw new UsageError('--overlay cannot shift ids (--uid-map, --gid-map): use a full copy', 'unpack');
    // Modules, not @oci/image's index, which would load the registry client (node:http, node:https…) too.
    const [{ parseIdMap }, { parsePlatform }, { createBundle, createOverlayBundle }, recipes] = await Promise.all([
      import('@oci/image/layer/ids'),
      import('@oci/image/platform'),
      import('@oci/bundle'),
      import('../overlay-recipe.js'),
    ]);
    // The options first: a bad one is told before anything else is looked at.
    const platform = options.platform ? { platform: parsePlatform(options.platform) } : {};
    const uidMap = options['uid-map'] ? parseIdMap(options['uid-map']) : undefined;
    const gidMap = options['gid-map'] ? parseIdMap(options['gid-map']) : undefined;
    // The front door makes the next overlay bundle of REF from a recipe of this one (overlay-recipe.ts).
    const ref = options.overlay && !options.platform && !options.tty ? positionals[0] : undefined;
    const recipe = ref !== undefined ? { ref, index: recipes.readIndex(storeDir(globals)) } : undefined;
    const store = await openStore(globals);
    const name = positionals[0] !== undefined ? await store.resolveName(positionals[0]) : await store.lastPulled();
    if (name === undefined) throw new Error('no image pulled yet: give a REF (oci unpack REF [BUNDLE])');
    const bundle = path.resolve(positionals[1] ?? '.');
    const skipped = new Map<string, number>();
    const onSkip = (item: { what: string; path: string; reason: string }) => {
      const kind = `${item.what}s (${item.reason.split(': ').pop()})`;
      skipped.set(kind, (skipped.get(kind) ?? 0) + 1);
      log.debug(`skipped ${item.what} ${item.path}: ${item.reason}`);
    };
    const result = await withProgress({}, context, async (listener) => {
      const onProgress = unpackListener(listener);
      if (!options.overlay)
        return store.lease(() =>
          createBundle({ store, image: name, ...platform }, bundle, {
            force: options.force,
            rootless: options.rootless || undefined,
            tty: options.tty,
            uidMap,
            gidMap,
            onProgress,
            onSkip,
          }),
        );
      const made = await createOverlayBundle({ store, image: name, ...platform }, bundle, { force: options.force, tty: options.tty, onSkip, onProgress });
      try {
        if (recipe?.index) recipes.writeRecipe(store.dir, recipe.ref, recipe.index, bundle, made);
      } catch (error) {
        log.debug(`no recipe for the next overlay bundle of ${recipe?.ref}: ${(error as Error).message}`);
      }
      return made;
    });
    for (const [kind, count] of skipped) log.warn(`unpack ${name}: skipped ${count} ${kind}`);
    log.debug(`unpacked ${name} (${result.image?.descriptor.digest}) into ${bundle}${options.overlay ? ' as an overlay of its snapshots' : ''}`);
  },
});
