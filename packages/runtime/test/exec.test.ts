import { defaultSpec } from '@oci/bundle/default-spec';
import test from 'ava';
import { withChanges } from '../src/exec.js';

const base = () => {
  const process = defaultSpec().process!;
  process.terminal = true;
  return process;
};

test("exec's flags change the container's own process as runc's do", (t) => {
  const original = base();
  const changed = withChanges(original, {
    args: ['sh', '-c', 'id'],
    cwd: '/tmp',
    env: ['A=1', 'TERM=dumb'],
    uid: 1000,
    gid: 100,
    additionalGids: [5],
    capabilities: ['CAP_NET_ADMIN'],
    noNewPrivileges: false,
  });
  t.deepEqual(changed.args, ['sh', '-c', 'id']);
  t.is(changed.cwd, '/tmp');
  t.deepEqual(changed.env, [...original.env!, 'A=1', 'TERM=dumb']);
  t.deepEqual(changed.user, { uid: 1000, gid: 100, additionalGids: [5] });
  t.false(changed.noNewPrivileges);
  t.false(changed.terminal, 'a terminal only when asked for, whatever config.json says');
  for (const set of ['bounding', 'effective', 'permitted'] as const)
    t.deepEqual(changed.capabilities![set], [...original.capabilities![set]!, 'CAP_NET_ADMIN']);
  t.deepEqual(changed.capabilities!.ambient, original.capabilities!.ambient, 'no inheritable capabilities: none made ambient');
  t.deepEqual(original, base(), 'the base is left as it was');
});

test('without changes an exec runs as the container does, without a terminal unless asked', (t) => {
  const changed = withChanges(base(), { args: ['true'], tty: true });
  t.deepEqual({ ...changed, args: base().args }, base());
  t.true(changed.terminal);
  const ambient = withChanges({ ...base(), capabilities: { inheritable: ['CAP_KILL'] } }, { args: ['true'], capabilities: ['CAP_KILL'] });
  t.deepEqual(ambient.capabilities!.ambient, ['CAP_KILL']);
});
