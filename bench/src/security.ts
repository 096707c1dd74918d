/**
 * What the security features cost at `run`, against runc 1.1.5 doing the same, on one busybox
 * bundle running /bin/true: no extra, podman's default seccomp profile, a user namespace, and a
 * prestart plus a createContainer hook (/bin/true each). Beside them, the in-process cost of
 * compiling podman's profile with libseccomp (what each create with that profile pays).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultSpec } from '@oci/bundle/default-spec';
import { compileSeccomp } from '@oci/runtime/seccomp/compile';
import type { Spec } from '@oci/specs';
import { busyboxRootfs } from '@oci/test/harness/bundle';
import { ociFrontDoor } from '@oci/test/harness/cli';
import { podmanProfile } from '@oci/test/harness/podman-seccomp';
import type { Benchmark } from './benchmark.js';
import { type Case, command, formatMs, measure, median, report } from './measure.js';

const variants: [string, (spec: Spec) => void][] = [
  ['plain', () => {}],
  ["podman's seccomp profile", (spec) => (spec.linux!.seccomp = podmanProfile(spec.process!.capabilities!.bounding!))],
  [
    'user namespace',
    (spec) => {
      spec.linux!.namespaces!.push({ type: 'user' });
      spec.linux!.uidMappings = spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    },
  ],
  ['prestart + createContainer hooks', (spec) => (spec.hooks = { prestart: [{ path: '/bin/true' }], createContainer: [{ path: '/bin/true' }] })],
];

export const securityBenchmark: Benchmark = {
  name: 'security',
  describe: "oci run against runc run with podman's seccomp profile, a user namespace, hooks; libseccomp compile time",
  async run({ rounds }) {
    const work = mkdtempSync('/run/oci-bench-security-');
    // Traversable by the user namespace's root, an unprivileged uid on the host.
    chmodSync(work, 0o755);
    let counter = 0;
    const id = () => `bench-sec-${process.pid}-${++counter}`;
    try {
      const rootfs = await busyboxRootfs(path.join(work, 'shared'));
      for (const [label, adjust] of variants) {
        const bundle = path.join(work, label.replace(/\W+/g, '-'));
        const spec = defaultSpec();
        spec.process!.terminal = false;
        spec.process!.args = ['/bin/true'];
        spec.root = { path: rootfs, readonly: true };
        adjust(spec);
        mkdirSync(bundle);
        writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
        const cases: Case[] = [
          { name: 'runc run', run: () => command('runc run', 'runc', ['--root', path.join(work, 'runc'), 'run', '--bundle', bundle, id()]).run() },
          { name: 'oci run', run: () => command('oci run', ociFrontDoor, ['--root', path.join(work, 'oci'), 'run', '--bundle', bundle, id()]).run() },
        ];
        report(`run of busybox /bin/true, ${label}`, await measure(cases, rounds, 2));
      }
      const profile = podmanProfile(defaultSpec().process!.capabilities!.bounding!);
      const samples: number[] = [];
      for (let i = 0; i < 10 + rounds * 5; i++) {
        const start = performance.now();
        compileSeccomp(profile);
        if (i >= 10) samples.push(performance.now() - start);
      }
      console.log(`\ncompiling podman's profile (${profile.syscalls!.length} rule groups) with libseccomp, in process: ${formatMs(median(samples))} median`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
