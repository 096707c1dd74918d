/** The options of the commands that talk to a registry (pull, push, copy, login), and what they become. */
import type { Descriptor, ProgressListener } from '@oci/image';
import type { OptionSpecs, OptionValues } from './args.js';
import { type Command, type Context, defineCommand } from './command.js';
import { print } from './print.js';
import { withProgress } from './progress.js';

/** How to reach a registry. */
export const connectionOptions = {
  insecure: { type: 'boolean', describe: 'allow plain HTTP and HTTPS fallback to it for any registry (loopback hosts always may)' },
  'ca-cert': { type: 'string', multiple: true, value: 'FILE', describe: 'also trust the certificate authority in FILE (PEM)' },
  // What it bounds, precisely: packages/image/src/registry/deadline.ts.
  timeout: {
    type: 'number',
    value: 'SECONDS',
    describe:
      'give up once the registry, or one of its mirrors, has kept oci waiting this long, retries included: for an answer, for a whole manifest or token, or for the next bytes of a blob (default 30; 0: never)',
  },
  authfile: {
    type: 'string',
    value: 'FILE',
    describe: "the auth file to use instead of $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json and the others (podman's --authfile)",
  },
} as const satisfies OptionSpecs;

/** pull's and push's: the connection, credentials, and what to print. */
export const registryOptions = {
  creds: { type: 'string', value: 'USER:PASS', describe: 'credentials for the registry (default: from oci login, podman/skopeo login or docker login)' },
  ...connectionOptions,
  quiet: { type: 'boolean', short: 'q', describe: 'print nothing but the digest' },
  format: { type: 'string', value: 'FORMAT', choices: ['text', 'json'], describe: 'json: progress events as JSON lines on stdout' },
} as const satisfies OptionSpecs;

/** The registry client's options; with --debug, each request is logged (method, URL, status, time). */
export function toRegistryOptions(options: OptionValues<typeof connectionOptions> & { creds?: string }, { globals, log }: Pick<Context, 'globals' | 'log'>) {
  return {
    ...(globals.debug && { debug: (message: string) => log.debug(message) }),
    ...(options.creds !== undefined && { creds: options.creds }),
    ...(options.insecure && { insecure: true }),
    ...(options['ca-cert'] && { caCerts: options['ca-cert'] }),
    ...(options.timeout !== undefined && { timeout: options.timeout * 1000 }),
    ...(options.authfile !== undefined && { authFile: options.authfile }),
  };
}

type TransferArgs<T extends OptionSpecs> = Parameters<Command<T & typeof registryOptions>['run']>[0];

/**
 * A command that moves an image through a registry (pull, push, copy): the registry options
 * beside its own, progress as --quiet and --format say, and the digest of what it moved printed
 * at the end.
 */
export function transferCommand<const T extends OptionSpecs>(
  declaration: Omit<Command<T>, 'run' | 'uses'>,
  transfer: (
    args: TransferArgs<T>,
    registry: ReturnType<typeof toRegistryOptions> & { onProgress: ProgressListener | undefined },
    context: Context,
  ) => Promise<{ descriptor: Descriptor }>,
): Command<T & typeof registryOptions> {
  return defineCommand({
    ...declaration,
    options: { ...declaration.options, ...registryOptions },
    uses: ['store'],
    async run(args, context) {
      const options = args.options as OptionValues<typeof registryOptions>;
      const result = await withProgress(options, context, (onProgress) => transfer(args, { ...toRegistryOptions(options, context), onProgress }, context));
      if (options.format !== 'json') print(`${result.descriptor.digest}\n`);
    },
  });
}
