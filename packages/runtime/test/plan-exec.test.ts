/** The exec plan: the helper's steps to enter a running container, and what they share with create's. */

import type { Seccomp, Spec } from '@oci/specs';
import test from 'ava';
import { CLONE_NEW } from '../src/plan/namespaces.js';
import type { Op } from '../src/plan/ops.js';
import { unsharedNamespaces } from '../src/process-namespaces.js';
import { find, names, plan, planExec } from './helpers/plans.js';

test('the exec plan enters the container (its cgroups, namespaces, pid namespace through clone) and mounts nothing', (t) => {
  const ops = planExec();
  t.deepEqual(names(ops), [
    'cgroup',
    'container',
    'join',
    'clone',
    'join',
    'setsid',
    'session_keyring',
    'rlimit',
    'no_new_privs',
    'chdir',
    'close_fds',
    'credentials',
    'umask',
    'find_program',
    'exec',
  ]);
  t.deepEqual(find(ops, 'cgroup'), ['cgroup', '/sys/fs/cgroup/memory/c1']);
  t.deepEqual(find(ops, 'container'), ['container', 4242, '987654']);
  const joins = ops.filter((op) => op[0] === 'join');
  // The mount namespace last, in the process: clone's cgroup path is the host's.
  t.deepEqual(joins, [
    ['join', CLONE_NEW.pid | CLONE_NEW.network | CLONE_NEW.uts | CLONE_NEW.ipc],
    ['join', CLONE_NEW.mount],
  ]);
  t.deepEqual(find(ops, 'clone'), ['clone', 0, '/sys/fs/cgroup/unified/c1']);
  t.deepEqual(find(ops, 'exec'), ['exec', 2, 'ps', 'x', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm', 'HOME=/root']);
  t.deepEqual(find(ops, 'session_keyring'), ['session_keyring', '_ses.c1'], "the container's keyring, joined by name");
  // A container sharing every namespace but the mount one with the host.
  t.deepEqual(names(planExec((o) => (o.namespaces = CLONE_NEW.mount))).slice(0, 5), ['cgroup', 'container', 'clone', 'join', 'setsid']);
});

test("exec and create give a process the same last steps, the container's seccomp filter among them", (t) => {
  const tail = (ops: Op[]) => ops.slice(names(ops).indexOf('rlimit'), names(ops).indexOf('find_program') + 1);
  const seccomp: Seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
  for (const noNewPrivileges of [false, true]) {
    const adjust = (spec: Spec) => {
      spec.linux!.seccomp = structuredClone(seccomp);
      spec.process!.noNewPrivileges = noNewPrivileges;
    };
    const create = plan(adjust);
    const exec = planExec((o) => {
      adjust(o.spec);
      o.process = structuredClone(o.spec.process!);
    });
    t.true(tail(create).length > 5);
    t.deepEqual(tail(exec), tail(create));
    t.truthy(find(exec, 'seccomp'));
    // With no_new_privs, as late as it can: just before exec.
    t.is(names(exec).indexOf('seccomp') === names(exec).length - 2, noNewPrivileges);
    t.deepEqual(find(exec, 'seccomp'), find(create, 'seccomp'));
  }
});

test("an exec with a terminal opens it in the container (no /dev/console); oom score: its own, else the container's", (t) => {
  const ops = planExec((o) => {
    o.process.terminal = true;
    o.process.consoleSize = { height: 24, width: 80 };
    o.consoleFd = 4;
  });
  t.deepEqual(find(ops, 'console'), ['console', 4, 24, 80]);
  t.true(names(ops).indexOf('console') > names(ops).lastIndexOf('join'));
  t.falsy(find(ops, 'dev_console'));
  t.deepEqual(
    find(
      planExec((o) => (o.spec.process!.oomScoreAdj = 100)),
      'oom_score_adj',
    ),
    ['oom_score_adj', 100],
  );
  t.deepEqual(
    find(
      planExec((o) => {
        o.spec.process!.oomScoreAdj = 100;
        o.process.oomScoreAdj = -5;
      }),
      'oom_score_adj',
    ),
    ['oom_score_adj', -5],
  );
});

test('the namespaces an exec enters are those the container does not share with us', (t) => {
  t.is(unsharedNamespaces(process.pid), 0);
  t.is(unsharedNamespaces(2 ** 22 + 1), undefined, 'a process that does not exist');
});
