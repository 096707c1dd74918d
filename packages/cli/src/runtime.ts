/** The runtime commands' shared pieces: the Runtime for --root (warnings to the log), and the shape of a command on one container. */
import type { Runtime } from '@oci/runtime';
import type { OptionSpecs } from './args.js';
import { type Command, type Context, defineCommand } from './command.js';
import { stateRoot } from './paths.js';

export async function openRuntime(context: Context): Promise<Runtime> {
  // The module, not the package's index, which would bring runImage (and the image library) into every command's bundle.
  const { Runtime } = await import('@oci/runtime/runtime');
  const { 'rootless-runtime': rootless = 'auto' } = context.globals;
  const runtime = new Runtime({
    root: stateRoot(context.globals),
    warn: (message) => context.log.warn(message),
    debug: (message) => context.log.debug(message),
    rootless: rootless === 'auto' ? process.geteuid!() !== 0 : rootless === 'true',
  });
  return context.globals.debug ? timed(runtime, context.log) : runtime;
}

/**
 * A command on one container, named by the ID it takes first (start, kill, delete…): what it does
 * with that container through the Runtime of --root. Its usage is `[options] ID` unless it declares more.
 */
export function containerCommand<const T extends OptionSpecs = Record<never, never>>(
  act: (runtime: Runtime, id: string, args: Parameters<Command<T>['run']>[0], context: Context) => Promise<number | void>,
  declaration: Partial<Omit<Command<T>, 'run'>> = {},
): Command<T> {
  const options = declaration.options ?? ({} as T);
  return defineCommand({
    usage: Object.values(options).some((option) => !option.hidden) ? '[options] ID' : 'ID',
    positionals: { min: 1, max: 1 },
    completes: 'container',
    uses: ['runtime'],
    ...declaration,
    options,
    async run(args, context) {
      return act(await openRuntime(context), args.positionals[0]!, args, context);
    },
  });
}

/** With --debug, each runtime operation the command asks for is logged with the time it took. */
function timed(runtime: Runtime, log: Context['log']): Runtime {
  return new Proxy(runtime, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const started = performance.now();
        const result: unknown = value.apply(target, args);
        // Only promises are timed: events() is an async generator, consumed by the caller.
        if (!(result instanceof Promise)) return result;
        const done = (outcome: string) =>
          log.debug(`runtime ${String(key)} ${typeof args[0] === 'string' ? `${args[0]} ` : ''}${outcome} (${Math.round(performance.now() - started)} ms)`);
        return result.then(
          (resolved) => {
            done('done');
            return resolved;
          },
          (error: unknown) => {
            done(`failed: ${(error as Error).message}`);
            throw error;
          },
        );
      };
    },
  });
}

/** systemd socket activation: fds 3… handed to us are passed on, as runc does. */
export function listenFds(): number {
  const count = Number(process.env.LISTEN_FDS);
  return Number(process.env.LISTEN_PID) === process.pid && count > 0 ? count : 0;
}
