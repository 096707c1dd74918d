/**
 * linux.seccomp compiled to the BPF program the plan's `seccomp` op loads: checked by the plan
 * (plan/seccomp.ts), compiled by libseccomp in the addon, with the ENOSYS prefix (enosys.ts) put
 * before it, and kept in the state root's cache (cache.ts) when one is given.
 */

import { requireAddon } from '@oci/native';
import type { Seccomp } from '@oci/specs';
import { invalid } from '../errors.js';
import { type CompiledSeccomp, mayLeaveOut, type SeccompFilter, seccompFilter } from '../plan/seccomp.js';
import { type Compiled, cachedCompile, cacheKey } from './cache.js';
import { enosysPrefix } from './enosys.js';

export interface CompileOptions {
  /** Where compiled filters are kept (the state root's); compiled every time without. */
  cacheDir?: string;
  /** Told which syscall names were left out (unknown to libseccomp). */
  debug?: (message: string) => void;
}

export function compileSeccomp(seccomp: Seccomp, options: CompileOptions = {}): CompiledSeccomp {
  const filter = seccompFilter(seccomp);
  const compiled = options.cacheDir ? cachedCompile(options.cacheDir, cacheKey(libseccompVersion(), filter), () => compile(filter)) : compile(filter);
  const unknown = new Set(compiled.unknown);
  const kept = filter.rules.find((rule) => unknown.has(rule.syscall) && !mayLeaveOut(filter, rule));
  if (kept)
    throw invalid(
      `linux.seccomp: syscall '${kept.syscall}' is unknown to libseccomp ${libseccompVersion()}: ` +
        `without its rule the default action (${seccomp.defaultAction}) would let it run`,
    );
  for (const name of unknown) options.debug?.(`seccomp: syscall '${name}' is unknown to libseccomp: its rules are left out`);
  return { filter, program: compiled.program };
}

function compile({ defaultAction, architectures, rules, enosysAbove }: SeccompFilter): Compiled {
  let compiled: Compiled;
  try {
    compiled = requireAddon().compileSeccomp(defaultAction, architectures, rules);
  } catch (error) {
    throw invalid(`linux.seccomp: ${(error as Error).message.replace(/^seccomp: /, '')}`);
  }
  if (!enosysAbove) return compiled;
  return { ...compiled, program: Buffer.concat([enosysPrefix(architectures, enosysAbove), compiled.program]) };
}

const libseccompVersion = () => requireAddon().seccompInfo().version;
