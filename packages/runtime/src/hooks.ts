/**
 * Hooks (runtime-spec config.md, POSIX-platform hooks, and runtime.md's lifecycle), each at its
 * point and in its namespaces:
 *
 *   prestart, createRuntime   create: here, in the runtime's namespaces, while the container's
 *                             process waits (the plan's `sync` op) with its mounts made, before
 *                             pivot_root. A failure fails create.
 *   createContainer           create: the helper, in the container's namespaces, before
 *                             pivot_root (the path resolves on the host's filesystem). A
 *                             failure fails create.
 *   startContainer            start: the helper, in the container, just before the program
 *                             runs (the path resolves in the container). A failure fails start
 *                             and the container stops.
 *   poststart                 start, here, once the program runs. A failure is a warning.
 *   poststop                  delete, here, once the container is gone. A failure is a warning.
 *
 * After a failed create-phase hook the container is destroyed and its poststop hooks run, as
 * the lifecycle's "continue at step 12" asks. Each hook gets the container's state on stdin,
 * exactly its `args` and `env`, the bundle as its working directory (runc's), and is killed
 * once its `timeout` (seconds) passes.
 */
import type { Hook, Hooks } from '@oci/specs';
import { RuntimeError } from './errors.js';
import { type ContainerStateJson, type HookKind, hookArgv, hookLabel } from './plan/hooks.js';

export const HOOK_KINDS: readonly HookKind[] = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

/** The first thing wrong with config.json's hooks, or undefined. */
export function checkHooks(hooks: unknown): string | undefined {
  if (hooks === undefined) return undefined;
  if (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks)) return 'hooks must be an object';
  for (const [kind, list] of Object.entries(hooks)) {
    if (!(HOOK_KINDS as readonly string[]).includes(kind)) continue; // other platforms' or later versions' hooks
    if (!Array.isArray(list)) return `hooks.${kind} must be a list`;
    for (const [i, hook] of (list as Hook[]).entries()) {
      const where = `hooks.${kind}[${i}]`;
      if (typeof hook?.path !== 'string' || !hook.path.startsWith('/')) return `${where}: path '${String(hook?.path)}' is not an absolute path`;
      for (const field of ['args', 'env'] as const)
        if (hook[field] !== undefined && !(Array.isArray(hook[field]) && hook[field].every((s) => typeof s === 'string')))
          return `${where}.${field} must be a list of strings`;
      if (hook.timeout !== undefined && !(Number.isInteger(hook.timeout) && hook.timeout > 0))
        return `${where}.timeout must be a whole number of seconds above 0`;
    }
  }
  return undefined;
}

/** How long a finished hook's output pipes may stay open (a daemon it started may hold them). */
const OUTPUT_GRACE_MS = 100;
const KEEP_OUTPUT = 1024;

/** Runs one hook here; resolves when it exited 0, rejects with the reason otherwise. */
async function runHook(kind: HookKind, index: number, hook: Hook, state: string, cwd: string): Promise<void> {
  const { spawn } = await import('node:child_process');
  const what = hookLabel(kind, index, hook);
  const [argv0, ...args] = hookArgv(hook);
  const env = Object.fromEntries((hook.env ?? []).flatMap((e) => (e.includes('=') ? [[e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]] : [])));
  return new Promise((resolve, reject) => {
    const child = spawn(hook.path, args, { argv0, env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      if (output.length < KEEP_OUTPUT) output += chunk.toString('utf8').slice(0, KEEP_OUTPUT - output.length);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.stdin!.on('error', () => {}); // a hook that does not read its stdin
    child.stdin!.end(state);
    let timedOut = false;
    const timer =
      hook.timeout === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, hook.timeout * 1000);
    const said = () => {
      const text = output.replace(/\s+/g, ' ').trim();
      return text ? `: ${text}` : '';
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new RuntimeError('EHOOK', `${what}: ${error.code ?? error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const settle = () => {
        child.stdout!.destroy();
        child.stderr!.destroy();
        if (timedOut) reject(new RuntimeError('EHOOK', `${what}: timed out after ${hook.timeout} s and was killed${said()}`));
        else if (signal) reject(new RuntimeError('EHOOK', `${what}: killed by ${signal}${said()}`));
        else if (code !== 0) reject(new RuntimeError('EHOOK', `${what}: exit status ${code}${said()}`));
        else resolve();
      };
      // 'close' comes once the output pipes are drained, unless something the hook left holds them.
      const grace = setTimeout(settle, OUTPUT_GRACE_MS);
      child.once('close', () => {
        clearTimeout(grace);
        settle();
      });
    });
  });
}

/** Runs the hooks of `kinds` in order; the first failure rejects (create-phase semantics). */
export async function runHooks(hooks: Hooks | undefined, kinds: readonly HookKind[], state: ContainerStateJson, cwd: string): Promise<void> {
  const json = JSON.stringify(state);
  for (const kind of kinds) for (const [i, hook] of (hooks?.[kind] ?? []).entries()) await runHook(kind, i, hook, json, cwd);
}

/** Runs every hook of `kind`; a failure is reported to `warn` and the rest still run (poststart, poststop). */
export async function runHooksWarning(
  hooks: Hooks | undefined,
  kind: HookKind,
  state: ContainerStateJson,
  cwd: string,
  warn: (message: string) => void,
): Promise<void> {
  const json = JSON.stringify(state);
  for (const [i, hook] of (hooks?.[kind] ?? []).entries()) {
    try {
      await runHook(kind, i, hook, json, cwd);
    } catch (error) {
      warn(`${(error as Error).message} (a ${kind} hook failing is only a warning)`);
    }
  }
}
