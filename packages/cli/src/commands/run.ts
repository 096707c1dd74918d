import { existsSync } from 'node:fs';
import { generatedId } from '@oci/runtime/id';
import { type OptionValues, UsageError } from '../args.js';
import { defineCommand } from '../command.js';
import { imageOptions } from '../run-options.js';
import { openRuntime } from '../runtime.js';
import { createOptions, toCreateOptions } from './create.js';

const options = {
  ...createOptions,
  detach: { type: 'boolean', short: 'd', describe: 'return once the program started, leaving the container running (an image run prints its id)' },
  ...imageOptions,
} as const;

/** Options only runc's reading of the line takes: given one, the line runs a bundle. */
const BUNDLE_ONLY = Object.keys(createOptions) as (keyof typeof createOptions)[];
const IMAGE_ONLY = Object.keys(imageOptions) as (keyof typeof imageOptions)[];

export default defineCommand({
  usage: '[options] IMAGE [COMMAND [ARG…]]\n[options] [ID]',
  details: [
    'Two readings of the line. The first runs an image as docker and podman do: pulled if missing, its',
    "layers stacked from the store's snapshots (each applied once), removed when it ends unless --name",
    "or -d keep it (`oci delete ID` removes it and its writable layer then). The second is runc's: the",
    'bundle in --bundle or the current directory runs as container ID (a generated one without).',
    '',
    "Which one: runc's when there is no argument, when an option only it takes is given (--bundle,",
    '--pid-file, --console-socket, --no-pivot, --no-new-keyring, --preserve-fds), or when the only',
    'argument comes with a config.json in the current directory; otherwise the first argument is an',
    'IMAGE. An option only the image reading takes (-e, -v, --rm, --pull…) makes it the image one; mixing',
    'the two kinds is an error.',
  ].join('\n'),
  options,
  positionals: { min: 0, max: 1 },
  uses: ['store', 'runtime'],
  restAfter: 1,
  async run(args, context) {
    if (readingOf(args.options, args.positionals, args.rest) === 'image') return (await import('./run-image.js')).runImageCommand(args, context);
    const runtime = await openRuntime(context);
    return runtime.run(args.positionals[0] ?? generatedId(), { ...toCreateOptions(args.options), detach: args.options.detach });
  },
});

/** Which reading the line takes (see `details`). */
function readingOf(given: OptionValues<typeof options>, positionals: string[], rest: string[]): 'bundle' | 'image' {
  const bundleOption = BUNDLE_ONLY.find((name) => given[name] !== undefined);
  const imageOption = IMAGE_ONLY.find((name) => given[name] !== undefined);
  if (bundleOption && imageOption) throw new UsageError(`--${bundleOption} runs a bundle and --${imageOption} an image: not both`, 'run');
  if (positionals.length === 0) {
    if (imageOption) throw new UsageError(`--${imageOption} needs an IMAGE to run`, 'run');
    return 'bundle';
  }
  if (bundleOption) {
    if (rest.length > 0) throw new UsageError(`a bundle's container takes one argument, its ID (got ${rest.length + 1})`, 'run');
    return 'bundle';
  }
  if (imageOption || rest.length > 0) return 'image';
  return existsSync('config.json') ? 'bundle' : 'image';
}
