/**
 * Hooks as the plan sees them: the ops for those the helper runs itself (createContainer and
 * startContainer, in the container's namespaces), and the state JSON every hook gets on its
 * stdin (the runtime runs the others: ../hooks.ts).
 */
import { type Hook, type Hooks, RUNTIME_SPEC_VERSION } from '@oci/specs';
import type { Op } from './ops.js';

export type HookKind = keyof Hooks;

/** The state JSON hooks and seccomp agents read (runtime-spec state.md). */
export interface ContainerStateJson {
  ociVersion: string;
  id: string;
  status: 'creating' | 'created' | 'running' | 'stopped';
  /** Left out once stopped. */
  pid?: number;
  bundle: string;
  annotations: Record<string, string>;
}

export function hookState(
  id: string,
  bundle: string,
  annotations: Record<string, string>,
  status: ContainerStateJson['status'],
  pid?: number,
): ContainerStateJson {
  return { ociVersion: RUNTIME_SPEC_VERSION, id, status, ...(pid !== undefined && { pid }), bundle, annotations };
}

/** The marker the helper replaces with the container's pid, which only it knows when the plan is written. */
const PID_MARK = '\u0001';

/**
 * JSON for the helper, with the pid left to it: every `pid` field becomes the 0x01 marker
 * (JSON escapes control characters, so the byte cannot appear anywhere else).
 */
export function stateTemplate(value: object): string {
  const marked = JSON.stringify(value, (key, v) => (key === 'pid' ? PID_MARK : v));
  return marked.replaceAll(JSON.stringify(PID_MARK), PID_MARK);
}

/** How errors name a hook. */
export const hookLabel = (kind: HookKind, index: number, hook: Hook) => `${kind} hook #${index} ${hook.path}`;
/** Its argv: `args`, or just its path when there are none. */
export const hookArgv = (hook: Hook) => (hook.args?.length ? hook.args : [hook.path]);

/** The helper's ops for hooks it runs itself (createContainer, startContainer). */
export function hookOps(kind: 'createContainer' | 'startContainer', hooks: readonly Hook[] | undefined, state: ContainerStateJson): Op[] {
  const template = stateTemplate(state);
  return (hooks ?? []).map((hook, i): Op => {
    const argv = hookArgv(hook);
    return ['hook', hookLabel(kind, i, hook), hook.timeout ?? 0, template, hook.path, argv.length, ...argv, ...(hook.env ?? [])];
  });
}

export const hasHooks = (hooks: Hooks | undefined, kinds: readonly HookKind[]) => kinds.some((kind) => (hooks?.[kind]?.length ?? 0) > 0);
