/**
 * Side-by-side timing: every case runs in turn, round after round, so that the shared
 * machine's noise falls on all of them alike; medians and ratios are what gets reported.
 */
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

export interface Case {
  name: string;
  /** Runs once; returns nothing and throws on failure. Timed from call to return. */
  run(): void | Promise<void>;
  /** Runs before each timed run, untimed (e.g. emptying a target directory). */
  prepare?(): void | Promise<void>;
}

export interface Timing {
  name: string;
  samples: number[];
  median: number;
}

export async function measure(cases: readonly Case[], rounds: number, warmup = 1): Promise<Timing[]> {
  const samples = cases.map(() => [] as number[]);
  for (let round = 0; round < warmup + rounds; round++) {
    for (const [i, c] of cases.entries()) {
      await c.prepare?.();
      const start = process.hrtime.bigint();
      await c.run();
      const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
      if (round >= warmup) samples[i]!.push(elapsed);
    }
  }
  return cases.map((c, i) => ({ name: c.name, samples: samples[i]!, median: median(samples[i]!) }));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A case that runs a command and fails loudly if it exits non-zero. */
export function command(name: string, file: string, args: readonly string[], options: SpawnSyncOptions = {}): Case {
  return {
    name,
    run() {
      const result = spawnSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
      if (result.status !== 0) throw new Error(`${name}: exit ${result.status}: ${result.stderr}`);
    },
  };
}

/** Prints medians, and each case's ratio to the baseline (the first case unless named). */
export function report(title: string, timings: readonly Timing[], baseline = timings[0]!.name): void {
  const base = timings.find((t) => t.name === baseline)!;
  const width = Math.max(...timings.map((t) => t.name.length));
  console.log(`\n${title}  (median of ${base.samples.length} runs, ratio to ${baseline})`);
  for (const t of timings) {
    const ratio = t.median / base.median;
    console.log(`  ${t.name.padEnd(width)}  ${formatMs(t.median).padStart(9)}  ${ratio.toFixed(2)}x`);
  }
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

/**
 * `dir` gone (its parent there), and the disk synced, before a run that fills it: the pages an
 * earlier run left dirty are not written back during this one, whichever tool made them.
 */
export function emptied(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  spawnSync('sync');
}
