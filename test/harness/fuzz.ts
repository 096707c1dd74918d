/**
 * Settings and checks shared by the fuzz tests (property-based, with fast-check).
 *
 * By default every property runs a fixed number of inputs from a fixed seed: `pnpm test` stays
 * reproducible and takes seconds. `OCI_FUZZ_SECONDS=N` runs each property for N seconds from a
 * random seed instead; `OCI_FUZZ_SEED=S` replays seed S (fast-check's failure report names the
 * seed and the path of the smallest failing input). A crash found either way becomes an explicit
 * regression case in the test file.
 */
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';

const FIXED_SEED = 20240601;

/** fast-check parameters for a property that runs `runs` inputs in the default, bounded mode. */
export function fuzzParameters<T>(t: ExecutionContext, runs: number): fc.Parameters<T> {
  const seconds = Number(process.env.OCI_FUZZ_SECONDS ?? 0);
  const given = process.env.OCI_FUZZ_SEED;
  const seed = given !== undefined ? Number(given) : seconds > 0 ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : FIXED_SEED;
  t.log(`fuzz seed ${seed} (replay with OCI_FUZZ_SEED=${seed}${seconds > 0 ? ` OCI_FUZZ_SECONDS=${seconds}` : ''})`);
  // The report names what the property threw, not only the input.
  if (seconds > 0)
    return { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false, includeErrorInReport: true };
  return { seed, numRuns: runs, includeErrorInReport: true };
}

/**
 * No single input may take longer than this: a generous bound that proves one exists. Inputs are
 * at most a few hundred KB; the parsers take microseconds to milliseconds on them.
 */
export const PER_INPUT_MS = 2000;

/** Runs `fn` on one input and fails when it takes longer than PER_INPUT_MS. */
export function bounded<T>(fn: () => T): T {
  const start = performance.now();
  const result = fn();
  const elapsed = performance.now() - start;
  if (elapsed > PER_INPUT_MS) throw new Error(`one input took ${Math.round(elapsed)} ms (bound ${PER_INPUT_MS} ms)`);
  return result;
}

export async function boundedAsync<T>(fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await fn();
  const elapsed = performance.now() - start;
  if (elapsed > PER_INPUT_MS) throw new Error(`one input took ${Math.round(elapsed)} ms (bound ${PER_INPUT_MS} ms)`);
  return result;
}

interface TypedError extends Error {
  code: string;
}

/**
 * Rethrows `error` unless it is one of the project's typed errors (`kind`, e.g. ImageError) with
 * a code in `codes`: anything else (a TypeError, a RangeError) is a crash the fuzzer found.
 */
export function expectTyped(error: unknown, kind: abstract new (...args: never[]) => TypedError, codes: readonly string[]): void {
  if (error instanceof kind && codes.includes(error.code)) return;
  throw error;
}

/** Peak resident memory of this process so far, in MB (getrusage's high-water mark). */
export function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * How much peak memory a whole fuzz run may add. Every input is small; a parser that believed a
 * declared size (a 1 GB name, an 8 GB PAX record) would go far past this.
 */
export const MEMORY_GROWTH_MB = 256;

/**
 * Variations of a valid JSON document: none, or up to four mutations, each at a random place in it (a
 * field, an element, the whole): replaced by an arbitrary JSON value, left out, or (in a list)
 * repeated. Few mutations at a time keep most documents close to valid, so they get past the
 * first checks to the code behind them.
 */
export function mutatedJSON(template: unknown): fc.Arbitrary<unknown> {
  const places = placesIn(template);
  const mutation = fc.record({
    place: fc.constantFrom(...places),
    action: fc.oneof(
      { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ value })) },
      { weight: 1, arbitrary: fc.constantFrom('delete', 'repeat') },
    ),
  });
  const mutated = fc.array(mutation, { minLength: 1, maxLength: 4 }).map((mutations) => {
    let document = structuredClone(template);
    for (const { place, action } of mutations) document = mutate(document, place, action);
    return document;
  });
  // Unchanged half the time: in a chain of documents (config, manifest, index) one broken at a
  // time lets the others' checks pass and the broken one's reach deep.
  return fc.oneof(fc.constant(template), mutated);
}

type Place = (string | number)[];

function placesIn(value: unknown, at: Place = []): Place[] {
  if (typeof value !== 'object' || value === null) return [at];
  return [at, ...Object.entries(value).flatMap(([key, child]) => placesIn(child, [...at, Array.isArray(value) ? Number(key) : key]))];
}

/** `document` with the mutation applied at `place` (a place earlier mutations removed is skipped). */
function mutate(document: unknown, place: Place, action: { value: unknown } | 'delete' | 'repeat'): unknown {
  if (place.length === 0) return typeof action === 'object' ? action.value : document;
  let parent = document;
  for (const key of place.slice(0, -1)) {
    if (typeof parent !== 'object' || parent === null) return document;
    parent = (parent as Record<string | number, unknown>)[key];
  }
  if (typeof parent !== 'object' || parent === null) return document;
  const key = place.at(-1)!;
  const container = parent as Record<string | number, unknown>;
  if (!(key in container)) return document;
  if (typeof action === 'object') container[key] = action.value;
  else if (Array.isArray(container)) container.splice(Number(key), action === 'delete' ? 1 : 0, ...(action === 'repeat' ? [container[key]] : []));
  else if (action === 'delete') delete container[key];
  return document;
}
