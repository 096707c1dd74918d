/**
 * The crash suites' kill points come from this small seeded generator (mulberry32): the seed is
 * logged, and OCI_CRASH_SEED=N chooses the same points again.
 */
import type { ExecutionContext } from 'ava';

/** A number in [0, 1) at each call. */
export interface Seeded {
  (): number;
  readonly seed: number;
}

export function seeded(t: ExecutionContext): Seeded {
  const seed = Number(process.env.OCI_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  t.log(`crash seed ${seed} (replay with OCI_CRASH_SEED=${seed})`);
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), state | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
  return Object.assign(next, { seed });
}
