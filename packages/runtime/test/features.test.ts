/**
 * `features` claims only what is built: every hook kind, mount option, namespace, capability,
 * seccomp action, operator, architecture and flag it lists is taken by the code that runs
 * containers, and what it leaves out is refused there.
 */

import { defaultSpec } from '@oci/bundle/default-spec';
import type { NamespaceType, Seccomp } from '@oci/specs';
import test from 'ava';
import { checkSpec } from '../src/config.js';
import { features } from '../src/features.js';
import { checkHooks } from '../src/hooks.js';
import { parseMountOptions } from '../src/plan/mounts.js';
import { CAPABILITIES } from '../src/plan/process.js';
import { seccompOp } from '../src/plan/seccomp.js';
import { compileSeccomp } from '../src/seccomp/compile.js';

const listed = features();

test("the shape of runtime-spec features.md, with libseccomp's version", (t) => {
  t.is(listed.ociVersionMin, '1.0.0');
  t.regex(listed.ociVersionMax, /^1\.\d+\.\d+$/);
  t.deepEqual(listed.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  t.regex(listed.annotations['io.github.seccomp.libseccomp.version']!, /^\d+\.\d+\.\d+$/);
  t.like(listed.linux, { apparmor: { enabled: false }, selinux: { enabled: false }, cgroup: { v1: true, v2: true, systemd: false } });
  t.true(listed.linux.seccomp.enabled);
});

test('every hook kind listed is accepted', (t) => {
  for (const kind of listed.hooks) t.is(checkHooks({ [kind]: [{ path: '/bin/true', timeout: 1 }] }), undefined, kind);
});

test('every mount option listed is understood, not passed to the filesystem as data', (t) => {
  for (const option of listed.mountOptions) t.is(parseMountOptions([option]).data, '', option);
  t.is(parseMountOptions(['mode=755']).data, 'mode=755');
});

test('every namespace listed is accepted in config.json, and only those', (t) => {
  for (const type of ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as NamespaceType[]) {
    const spec = defaultSpec();
    if (!spec.linux!.namespaces!.some((ns) => ns.type === type)) spec.linux!.namespaces!.push({ type });
    if (type === 'user') spec.linux!.uidMappings = spec.linux!.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    t.is(checkSpec(spec) === undefined, listed.linux.namespaces.includes(type), type);
  }
});

test('every capability listed has a number', (t) => {
  t.true(listed.linux.capabilities.length >= 41);
  for (const name of listed.linux.capabilities) t.true(Number.isInteger(CAPABILITIES[name]), name);
});

test('every seccomp action, operator, architecture and supported flag listed compiles into a filter', (t) => {
  const compiles = (seccomp: Seccomp) => t.notThrows(() => seccompOp(compileSeccomp(seccomp), { fd: 9, state: '{}' }), JSON.stringify(seccomp));
  for (const action of listed.linux.seccomp.actions.filter((a) => a !== 'SCMP_ACT_NOTIFY')) compiles({ defaultAction: action });
  for (const action of listed.linux.seccomp.actions)
    compiles({ defaultAction: 'SCMP_ACT_KILL_PROCESS', listenerPath: '/agent', syscalls: [{ names: ['mkdir'], action }] });
  for (const op of listed.linux.seccomp.operators)
    compiles({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op }] }] });
  for (const arch of listed.linux.seccomp.archs) compiles({ defaultAction: 'SCMP_ACT_ALLOW', architectures: [arch] });
  t.true(listed.linux.seccomp.archs.includes('SCMP_ARCH_X86_64'));
  const notify = { listenerPath: '/agent', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] };
  for (const flag of listed.linux.seccomp.supportedFlags) compiles({ defaultAction: 'SCMP_ACT_ALLOW', flags: [flag], ...notify });
  t.true(listed.linux.seccomp.supportedFlags.every((f) => listed.linux.seccomp.knownFlags.includes(f)));
  t.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }), { message: /unknown architecture/ });
});
