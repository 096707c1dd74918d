/**
 * `pnpm bench [name…] [--rounds N]`: runs the named benchmarks (all by default), each side by
 * side with its peer in one process run, and prints medians and ratios. No assertions:
 * these machines are shared and noisy, so numbers are read, not gated on.
 */
import { parseArgs } from 'node:util';
import { tempDir } from '@oci/test/harness/tmp';
import type { Benchmark } from './benchmark.js';
import { enginesBenchmark } from './engines.js';
import { pullBenchmark } from './pull.js';
import { runImageBenchmark } from './run-image.js';
import { runtimeBenchmark } from './runtime.js';
import { securityBenchmark } from './security.js';
import { startup } from './startup.js';
import { unpackBenchmark } from './unpack.js';

const benchmarks: Benchmark[] = [startup, pullBenchmark, runtimeBenchmark, enginesBenchmark, securityBenchmark, unpackBenchmark, runImageBenchmark];

const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string' }, list: { type: 'boolean' } } });
if (values.list) {
  for (const b of benchmarks) console.log(`${b.name.padEnd(12)} ${b.describe}`);
  process.exit(0);
}
const unknown = positionals.filter((name) => !benchmarks.some((b) => b.name === name));
if (unknown.length > 0) {
  console.error(`bench: unknown benchmark ${unknown.join(', ')} (have: ${benchmarks.map((b) => b.name).join(', ')})`);
  process.exit(2);
}
const rounds = Number(values.rounds ?? 30);
for (const benchmark of benchmarks.filter((b) => positionals.length === 0 || positionals.includes(b.name))) {
  const work = tempDir(`bench-${benchmark.name}`);
  try {
    await benchmark.run({ rounds, work: work.dir });
  } finally {
    work.remove();
  }
}
