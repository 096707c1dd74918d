import { defaultSpec } from '@oci/bundle/default-spec';
import type { Spec } from '@oci/specs';
import test from 'ava';
import { checkSpec } from '../src/config.js';
import { validateId } from '../src/id.js';
import { parseSignal } from '../src/signals.js';

const problem = (adjust: (spec: Spec) => void) => {
  const spec = defaultSpec();
  adjust(spec);
  return checkSpec(spec);
};

test("the default spec and runc 1.1's version string pass", (t) => {
  t.is(
    problem(() => {}),
    undefined,
  );
  t.is(
    problem((s) => (s.ociVersion = '1.0.2-dev')),
    undefined,
  );
});

test('each invalid part of a config is named', (t) => {
  const cases: [(spec: Spec) => void, RegExp][] = [
    [(s) => (s.ociVersion = '2.0.0'), /ociVersion '2\.0\.0' is not supported/],
    [(s) => delete (s as Partial<Spec>).ociVersion, /ociVersion is missing/],
    [(s) => delete s.process, /process is missing/],
    [(s) => (s.process!.args = []), /process\.args must list the program/],
    [(s) => (s.process!.cwd = 'rel'), /process\.cwd: 'rel' is not an absolute path/],
    [(s) => (s.process!.user = { uid: -1, gid: 0 }), /numeric uid and gid/],
    [(s) => (s.root = { path: '' }), /root\.path is missing/],
    [(s) => s.mounts!.push({ destination: 'x' }), /mounts\[7\]\.destination: 'x' is not an absolute path/],
    [(s) => s.linux!.namespaces!.push({ type: 'pid' }), /'pid' is listed twice/],
    [(s) => s.linux!.namespaces!.push({ type: 'bogus' as 'pid' }), /unknown type 'bogus'/],
    [(s) => (s.linux!.namespaces = [{ type: 'pid' }, { type: 'uts' }]), /linux\.maskedPaths needs a mount namespace/],
    [(s) => (s.linux!.namespaces = [{ type: 'mount' }]), /hostname needs a uts namespace/],
    [(s) => (s.linux!.devices = [{ type: 'c', path: 'dev/x', major: 1, minor: 1 }]), /linux\.devices\[0\]\.path: 'dev\/x'/],
    [(s) => (s.process!.env = ['A=\0']), /NUL/],
    [(s) => (s.linux!.resources = { memory: { limit: '64m' as unknown as number } }), /linux\.resources: memory\.limit must be an integer \(got "64m"\)/],
    [(s) => (s.linux!.resources = { cpu: { cpus: 3 as unknown as string } }), /cpu\.cpus must be a string/],
    [(s) => (s.linux!.resources = { hugepageLimits: [{ pageSize: '2MB', limit: 1.5 }] }), /hugepageLimits\[0\] needs a pageSize and an integer limit/],
    // Found by test/fuzz-config.test.ts: each was a TypeError ("….entries is not a function").
    [(s) => (s.process!.rlimits = {} as never), /process\.rlimits must be a list/],
    [(s) => (s.linux!.namespaces = 'pid' as never), /linux\.namespaces must be a list/],
    [(s) => (s.linux!.devices = {} as never), /linux\.devices must be a list/],
    [(s) => (s.linux!.resources = { hugepageLimits: {} as never }), /linux\.resources: hugepageLimits must be a list/],
    // Confinement asked for and not applied would leave the process unconfined.
    [(s) => (s.process!.apparmorProfile = 'docker-default'), /^process\.apparmorProfile is set, but oci does not apply AppArmor profiles/],
    [(s) => (s.process!.selinuxLabel = 'system_u:system_r:container_t:s0'), /^process\.selinuxLabel is set, but oci does not apply SELinux labels/],
    [(s) => (s.linux!.mountLabel = 'system_u:object_r:container_file_t:s0'), /^linux\.mountLabel is set, but oci does not apply SELinux labels/],
  ];
  for (const [adjust, pattern] of cases) t.regex(problem(adjust) ?? 'passed', pattern);
});

// Found by test/fuzz-config.test.ts: the NUL check serialised the whole config, and a config
// nested 100000 deep (anywhere, a field no one reads) overflowed the stack: a RangeError, not EINVALID.
test('a config nested past 64 levels is refused by name, however deep', (t) => {
  let deep: unknown = [];
  for (let i = 0; i < 100_000; i++) deep = [deep];
  t.is(
    problem((s) => ((s as unknown as Record<string, unknown>).extension = deep)),
    'nested deeper than 64 levels',
  );
  t.is(
    problem((s) => ((s.process as unknown as Record<string, unknown>).extension = deep)),
    'nested deeper than 64 levels',
  );
  t.is(
    problem((s) => (s.annotations = { '\0': 'x' })),
    'a string holds a NUL character',
  );
});

test("user namespaces: maps exactly with a new one, mapping the process's ids", (t) => {
  const withUserns = (s: Spec) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };
  t.is(problem(withUserns), undefined);
  const cases: [(s: Spec) => void, RegExp][] = [
    [(s) => s.linux!.namespaces!.push({ type: 'user' }), /a new user namespace needs linux\.uidMappings and linux\.gidMappings/],
    [(s) => (s.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), /linux\.uidMappings need a new user namespace/],
    [
      (s) => {
        withUserns(s);
        s.linux!.namespaces!.push({ type: 'user', path: '/proc/1/ns/user' });
      },
      /'user' is listed twice/,
    ],
    [
      (s) => {
        withUserns(s);
        s.linux!.uidMappings![0]!.size = 0;
      },
      /linux\.uidMappings\[0\] needs containerID, hostID and a size above 0/,
    ],
    [
      (s) => {
        withUserns(s);
        s.process!.user.uid = 70000;
      },
      /process\.user\.uid 70000 is not mapped by linux\.uidMappings/,
    ],
    [
      (s) => {
        withUserns(s);
        s.process!.user.additionalGids = [5, 65536];
      },
      /gid 65536 of process\.user is not mapped/,
    ],
  ];
  for (const [adjust, pattern] of cases) t.regex(problem(adjust) ?? 'passed', pattern);
});

test('hooks: absolute paths, lists of strings, timeouts above zero', (t) => {
  t.is(
    problem((s) => (s.hooks = { prestart: [], poststop: [{ path: '/bin/true', args: ['true'], env: ['A=1'], timeout: 3 }] })),
    undefined,
  );
  const cases: [Spec['hooks'], RegExp][] = [
    [{ prestart: [{ path: 'true' }] }, /hooks\.prestart\[0\]: path 'true' is not an absolute path/],
    [{ createRuntime: {} as never }, /hooks\.createRuntime must be a list/],
    [{ poststart: [{ path: '/x', args: [1 as never] }] }, /hooks\.poststart\[0\]\.args must be a list of strings/],
    [{ poststop: [{ path: '/x', timeout: 0 }] }, /hooks\.poststop\[0\]\.timeout must be a whole number of seconds above 0/],
    [{ startContainer: [{ path: '/x', timeout: 1.5 }] }, /timeout must be a whole number/],
  ];
  for (const [hooks, pattern] of cases) t.regex(problem((s) => (s.hooks = hooks)) ?? 'passed', pattern);
});

test("container ids: runc's alphabet, no path tricks", (t) => {
  for (const id of ['abc', 'a.b-c_d+e', 'x'.repeat(64), '...', '.x']) t.notThrows(() => validateId(id));
  for (const id of ['', '.', '..', 'a/b', '../x', 'a b', 'é']) t.throws(() => validateId(id), { message: /invalid container id/ });
  // Echoed quoted and escaped: one line whatever the id holds.
  t.throws(() => validateId('a\nb'), { message: 'invalid container id "a\\nb": use letters, digits and _ + - . only' });
});

test('signals by name (with or without SIG, any case) or number', (t) => {
  t.is(parseSignal('SIGKILL'), 9);
  t.is(parseSignal('term'), 15);
  t.is(parseSignal('9'), 9);
  t.is(parseSignal(64), 64);
  for (const bad of ['SIGBOGUS', '0', '65', '-1', '']) t.throws(() => parseSignal(bad), { message: /unknown signal/ });
});
