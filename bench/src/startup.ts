/**
 * `oci --version` against `node -e 0`: what the CLI adds to Node's own start, `oci` run as a
 * program (its native front door, then Node). Measured with and without NODE_EXTRA_CA_CERTS, which
 * these machines set and which makes Node parse the whole CA bundle at start (~80 ms): `node -e 0`
 * pays for it, `oci` should not (its front door keeps it from Node).
 */
import { ociFrontDoor } from '@oci/test/harness/cli';
import type { Benchmark } from './benchmark.js';
import { command, measure, report } from './measure.js';

export const startup: Benchmark = {
  name: 'startup',
  describe: 'oci --version and oci --help against node -e 0',
  async run({ rounds }) {
    const withCa = process.env.NODE_EXTRA_CA_CERTS;
    const withoutCa = { ...process.env, NODE_EXTRA_CA_CERTS: '' };
    const variants: [string, NodeJS.ProcessEnv][] = [['without NODE_EXTRA_CA_CERTS', withoutCa]];
    if (withCa) variants.push([`with NODE_EXTRA_CA_CERTS=${withCa}`, process.env]);
    for (const [label, env] of variants) {
      const cases = [
        command('node -e 0', process.execPath, ['-e', '0'], { env: withoutCa }),
        command('oci --version', ociFrontDoor, ['--version'], { env }),
        command('oci --help', ociFrontDoor, ['--help'], { env }),
      ];
      if (env !== withoutCa) cases.push(command('node -e 0, CA bundle parsed', process.execPath, ['-e', '0'], { env }));
      const timings = await measure(cases, rounds, 3);
      report(`startup, ${label}`, timings);
      const gap = timings[1]!.median - timings[0]!.median;
      console.log(`  gap oci --version - node -e 0: ${gap.toFixed(1)} ms (target: under 15 ms)`);
    }
  },
};
