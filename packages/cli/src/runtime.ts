/** The runtime commands' shared pieces: the Runtime for --root, and warnings to the log. */
import type { Runtime } from '@oci/runtime';
import { type Context, defineCommand } from './command.js';
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

/** A command whose only argument is a container's ID, and what it does to that container (start, pause…). */
export function containerCommand(name: string, act: (runtime: Runtime, id: string) => Promise<void>) {
  return defineCommand({
    name,
    usage: 'ID',
    options: {},
    positionals: { min: 1, max: 1 },
    completes: 'container',
    uses: ['runtime'],
    async run({ positionals }, context) {
      await act(await openRuntime(context), positionals[0]!);
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
