/**
 * `oci run IMAGE [COMMAND [ARG…]]`: the image reading of `oci run` (see run.ts), in a file of its
 * own that `oci run ID` never loads. The options become runImage's (@oci/runtime).
 */
import { readFileSync } from 'node:fs';
import type { ProgressEvent } from '@oci/image';
import type { Resources } from '@oci/specs';
import { type OptionValues, type ParsedArgs, UsageError } from '../args.js';
import type { Context } from '../command.js';
import { readIndex } from '../overlay-recipe.js';
import { stateRoot, storeDir } from '../paths.js';
import { print } from '../print.js';
import type { ProgressReporter } from '../progress.js';
import { toRegistryOptions } from '../registry-options.js';
import type { imageOptions } from '../run-options.js';
import { captureRun, type RunCapture, writeRunRecipe } from '../run-recipe.js';
import { openRuntime } from '../runtime.js';
import { openStore } from '../store.js';
import { parseBytes } from '../units.js';

type Options = OptionValues<typeof imageOptions & { detach: { type: 'boolean'; describe: string } }>;

const CPU_PERIOD = 100_000;

// biome-ignore lint/suspicious/noExplicitAny: run's options are read as Options here, the image reading's
export async function runImageCommand({ options, positionals, rest }: ParsedArgs<any>, context: Context): Promise<number> {
  const o = options as Options;
  if (o.detach && o.rm) throw new UsageError('--rm with -d: a detached container is removed with `oci delete ID` (oci has no daemon to watch it end)', 'run');
  if (o.detach && o.tty) throw new UsageError('-t with -d: a detached terminal needs a holder (--console-socket, with a bundle)', 'run');
  const [{ parsePlatform }, { runImage }, { parseVolume }] = await Promise.all([
    import('@oci/image/platform'),
    import('@oci/runtime/image/run-image'),
    import('@oci/runtime/image/run-spec'),
  ]);
  // The front door runs the next `oci run [--rm] [-i] IMAGE [ARG…]` of this image from a recipe of
  // this run (run-recipe.ts): --rm is what a run without --name does anyway, -i changes only stdin.
  const recipe =
    Object.keys(o).every((name) => name === 'rm' || name === 'interactive') && process.geteuid!() === 0
      ? { index: readIndex(storeDir(context.globals)), run: undefined as Promise<RunCapture | undefined> | undefined }
      : undefined;
  const store = await openStore(context.globals);
  const runtime = await openRuntime(context);
  // Made at the first pull event: a run of an image the store has draws nothing, loads nothing.
  let progress: Promise<ProgressReporter> | undefined;
  const pullProgress = (event: ProgressEvent) => {
    progress ??= import('../progress.js').then(({ progressReporter }) => progressReporter({ quiet: o.quiet }, context));
    void progress.then((reporter) => reporter.listener?.(event));
  };
  const finishProgress = async () => (await progress)?.finish();
  try {
    const result = await runImage(runtime, {
      store,
      image: positionals[0]!,
      ...(rest.length > 0 && { args: rest }),
      ...(o.entrypoint !== undefined && { entrypoint: o.entrypoint === '' ? [] : [o.entrypoint] }),
      env: [...(o['env-file'] ?? []).flatMap(readEnvFile), ...(o.env ?? [])].flatMap(fromHere),
      cwd: o.workdir,
      user: o.user,
      tty: o.tty,
      interactive: o.interactive,
      hostname: o.hostname,
      volumes: (o.volume ?? []).map(parseVolume),
      readonly: o['read-only'],
      network: (o.network as 'none' | 'host' | undefined) ?? 'none',
      resources: resources(o),
      id: o.name,
      detach: o.detach,
      remove: o.rm || (o.name === undefined && !o.detach),
      pull: o.pull as 'missing' | 'always' | 'never' | undefined,
      rootfs: o.rootfs as 'auto' | 'overlay' | 'copy' | undefined,
      ...(o.platform && { platform: parsePlatform(o.platform) }),
      registry: toRegistryOptions(o, context),
      onProgress(event) {
        if (event.type === 'pull') pullProgress(event.event);
        if (event.type === 'unpack' || event.type === 'rootfs') void finishProgress();
        // Said once, on stderr: a copy costs the image's size, and users should know why
        // (unless they asked for one).
        if (event.type === 'rootfs' && event.rootfs === 'copy' && o.rootfs !== 'copy')
          context.log.warn(`run ${positionals[0]}: the rootfs is a full copy (an overlay cannot be had: ${event.reason})`);
      },
      // Read while the container exists: its bundle goes with it.
      onCreated:
        recipe &&
        ((trace) => {
          recipe.run = bestEffort(context, () => captureRun(store.dir, trace));
        }),
    });
    // Not after a pull: the index read before it is not the one the image is in now.
    if (recipe?.index && recipe.run && !progress) {
      const { index, run } = recipe;
      await bestEffort(context, async () => {
        const { readImage } = await import('@oci/image/store/image');
        const [image, captured] = await Promise.all([readImage(store, positionals[0]!), run]);
        if (captured) writeRunRecipe(store.dir, stateRoot(context.globals), positionals[0]!, rest, index, image, captured);
      });
    }
    if (o.detach) print(`${result.id}\n`);
    return result.status;
  } finally {
    await finishProgress();
  }
}

/** A recipe is an optimisation: one that cannot be had is a debug line, never a failed run. */
async function bestEffort<T>(context: Context, step: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await step();
  } catch (error) {
    context.log.debug(`no run recipe: ${(error as Error).message}`);
    return undefined;
  }
}

/** `-e NAME` takes NAME's value here, as docker does; unset here, it is left out. */
function fromHere(pair: string): string[] {
  if (pair.includes('=')) return [pair];
  const value = process.env[pair];
  return value === undefined ? [] : [`${pair}=${value}`];
}

/** docker's --env-file: NAME=VALUE lines, # comments and blank lines skipped (NAME alone as with -e). */
function readEnvFile(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function resources(o: Options): Resources {
  const limits: Resources = {};
  if (o.memory !== undefined) {
    const limit = parseBytes(o.memory);
    if (limit === undefined) throw new UsageError(`--memory needs a size like 64m or 1g (got '${o.memory}')`, 'run');
    limits.memory = { limit };
  }
  if (o.cpus !== undefined) {
    const cpus = Number(o.cpus);
    if (!(cpus > 0)) throw new UsageError(`--cpus needs a number of CPUs above 0 (got '${o.cpus}')`, 'run');
    limits.cpu = { quota: Math.round(cpus * CPU_PERIOD), period: CPU_PERIOD };
  }
  if (o['pids-limit'] !== undefined) {
    if (!/^\d+$/.test(o['pids-limit'])) throw new UsageError(`--pids-limit needs a whole number (got '${o['pids-limit']}')`, 'run');
    limits.pids = { limit: Number(o['pids-limit']) };
  }
  return limits;
}
