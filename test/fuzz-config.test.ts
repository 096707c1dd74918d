/**
 * Fuzzing config.json loading (packages/runtime/src/config.ts, `loadBundle`): variations of the
 * default spec and of a user-namespaced, hooked, resource-limited one, and text that is not
 * quite JSON, written to a real bundle. Properties: RuntimeError EINVALID or a bundle, never
 * another error; bounded time and memory. See harness/fuzz.ts for seeds and longer runs.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultSpec } from '@oci/bundle/default-spec';
import { loadBundle } from '@oci/runtime/config';
import { RuntimeError } from '@oci/runtime/errors';
import test from 'ava';
import fc from 'fast-check';
import { bounded, expectTyped, fuzzParameters, MEMORY_GROWTH_MB, mutatedJSON, peakRssMB } from './harness/fuzz.js';
import { tempDir } from './harness/tmp.js';

/** The default spec with every part loadBundle checks filled in. */
function richSpec(): unknown {
  const spec = defaultSpec();
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  spec.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
  spec.linux!.resources = {
    memory: { limit: 1 << 26 },
    cpu: { shares: 512, cpus: '0-1' },
    pids: { limit: 64 },
    hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
  };
  spec.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }];
  spec.process!.user.additionalGids = [1, 2];
  spec.hooks = { prestart: [{ path: '/bin/true', args: ['true'], env: ['A=1'], timeout: 5 }] };
  return spec;
}

const configText = fc.oneof(
  { weight: 20, arbitrary: fc.oneof(mutatedJSON(defaultSpec()), mutatedJSON(richSpec())).map((spec) => JSON.stringify(spec) ?? 'undefined') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.nat({ max: 20000 }).map((depth) => `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":${'['.repeat(depth)}${']'.repeat(depth)}}`),
  },
);

test('config.json: RuntimeError EINVALID or a bundle, whatever the file holds', (t) => {
  const { dir, remove } = tempDir('fuzz-bundle');
  t.teardown(remove);
  mkdirSync(path.join(dir, 'rootfs'));
  const peakBefore = peakRssMB();
  let loaded = 0;
  fc.assert(
    fc.property(configText, (text) =>
      bounded(() => {
        // A new file each time: truncating one in place makes ext4 flush it (auto_da_alloc), 2 ms a write.
        rmSync(path.join(dir, 'config.json'), { force: true });
        writeFileSync(path.join(dir, 'config.json'), text);
        try {
          loadBundle(dir);
          loaded++;
        } catch (error) {
          expectTyped(error, RuntimeError, ['EINVALID']);
        }
      }),
    ),
    fuzzParameters(t, 2000),
  );
  t.log(`${loaded} configs loaded`);
  t.true(peakRssMB() - peakBefore < MEMORY_GROWTH_MB, `peak RSS grew ${Math.round(peakRssMB() - peakBefore)} MB`);
});
