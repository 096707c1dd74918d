/**
 * Compiled seccomp filters kept in the state root: libseccomp takes 20-40 ms to compile
 * podman's default profile for its three architectures, and an engine gives every container
 * (and every exec) the same one. An entry holds the exact compiler input it was made from and is
 * used only when that input matches byte for byte, so the file name (a fast hash of the input)
 * needs no cryptographic strength. The state root is the runtime's own (0700), as trusted as the
 * state it keeps beside; a damaged entry is compiled again.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SeccompFilter } from '../plan/seccomp.js';

export interface Compiled {
  program: Buffer;
  unknown: string[];
}

/** Kept per state root; the oldest go beyond it. */
const MAX_ENTRIES = 64;
/** Bumped when the program made of one input changes (the addon's compile, the ENOSYS prefix);
    it keys entries, with libseccomp's version. */
const FORMAT = 2;

/** Two 32-bit FNV-1a hashes (different seeds), as hex: they spread entries over file names;
    equality of inputs is checked on read. 32-bit steps (Math.imul) are what keeps this cheap. */
function fileName(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** All the compiler's input: the names behind the ENOSYS prefix too, which rules may not show
    (a rule whose action is the default's is left out of them, yet its names still count). */
export function cacheKey(libseccomp: string, { defaultAction, architectures, rules, enosysAbove }: SeccompFilter): string {
  return JSON.stringify([FORMAT, libseccomp, defaultAction, architectures, rules, enosysAbove ?? null], (_key, value) =>
    typeof value === 'bigint' ? `${value}n` : value,
  );
}

/** The compiled filter for `key`, from `dir` when it holds it, else from `compile` (and then kept). */
export function cachedCompile(dir: string, key: string, compile: () => Compiled): Compiled {
  const file = path.join(dir, fileName(key));
  try {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as { key: string; unknown: string[]; program: string };
    if (entry.key === key) return { program: Buffer.from(entry.program, 'hex'), unknown: entry.unknown };
  } catch {
    // Missing or damaged: compiled below.
  }
  const compiled = compile();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}`;
    writeFileSync(temp, JSON.stringify({ key, unknown: compiled.unknown, program: compiled.program.toString('hex') }));
    renameSync(temp, file);
    trim(dir);
  } catch {
    // A cache that cannot be written costs time, not correctness.
  }
  return compiled;
}

function trim(dir: string): void {
  const names = readdirSync(dir);
  if (names.length <= MAX_ENTRIES) return;
  const byAge = names
    .map((name) => ({ name, mtime: statSync(path.join(dir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => a.mtime - b.mtime);
  for (const { name } of byAge.slice(0, names.length - MAX_ENTRIES)) rmSync(path.join(dir, name), { force: true });
}
