import test from 'ava';
import { defaultSpec, RUNTIME_SPEC_VERSION } from '../src/index.js';

test('the default spec runs a shell on a read-only rootfs with the standard mounts', (t) => {
  const spec = defaultSpec();
  t.is(spec.ociVersion, RUNTIME_SPEC_VERSION);
  t.deepEqual(spec.process?.args, ['sh']);
  t.deepEqual(spec.root, { path: 'rootfs', readonly: true });
  t.deepEqual(
    spec.mounts?.map((m) => m.destination),
    ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup'],
  );
  t.deepEqual(
    spec.linux?.namespaces?.map((n) => n.type),
    ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'],
  );
  t.true(spec.linux?.maskedPaths?.includes('/proc/kcore'));
  t.true(spec.process?.noNewPrivileges);
});

test('each call returns a fresh spec that callers may change', (t) => {
  const first = defaultSpec();
  first.process!.capabilities!.bounding!.push('CAP_SYS_ADMIN');
  first.linux!.maskedPaths!.pop();
  const second = defaultSpec();
  t.false(second.process!.capabilities!.bounding!.includes('CAP_SYS_ADMIN'));
  t.true(second.linux!.maskedPaths!.includes('/proc/scsi'));
});
