/**
 * `oci --version` against `node -e 0`: what the CLI adds to Node's own start.
 * Measured with and without NODE_EXTRA_CA_CERTS, which these machines set and which makes
 * Node parse the whole CA bundle at start.
 */
import { ociBin } from '@oci/test/harness/cli';
import { command, measure, report } from './measure.js';
import type { Benchmark } from './run.js';

export const startup: Benchmark = {
  name: 'startup',
  describe: 'oci --version and oci --help against node -e 0',
  async run({ rounds }) {
    const withCa = process.env.NODE_EXTRA_CA_CERTS;
    const variants: [string, NodeJS.ProcessEnv][] = [['without NODE_EXTRA_CA_CERTS', { ...process.env, NODE_EXTRA_CA_CERTS: '' }]];
    if (withCa) variants.push([`with NODE_EXTRA_CA_CERTS=${withCa}`, process.env]);
    for (const [label, env] of variants) {
      const timings = await measure(
        [
          command('node -e 0', process.execPath, ['-e', '0'], { env }),
          command('oci --version', process.execPath, [ociBin, '--version'], { env }),
          command('oci --help', process.execPath, [ociBin, '--help'], { env }),
        ],
        rounds,
        3,
      );
      report(`startup, ${label}`, timings);
      const gap = timings[1]!.median - timings[0]!.median;
      console.log(`  gap oci --version - node -e 0: ${gap.toFixed(1)} ms (target: under 15 ms)`);
    }
  },
};
