/**
 * checkpoint and restore: Debian's criu (3.17) fails its own `criu check` on this kernel, so
 * oci does not drive it; both commands say so in one line, after the checks runc makes, and
 * leave the container as it was.
 */
import test from 'ava';
import { busyboxBundle, uniqueId } from './harness/bundle.js';
import { type StateRoot, stateRoot } from './harness/runtime.js';

let state: StateRoot;
test.before(() => {
  state = stateRoot();
});
test.after.always(() => state?.remove());

test('checkpoint and restore fail with a clear line and leave the container running', async (t) => {
  const b = await busyboxBundle(['sleep', '1000']);
  t.teardown(b.remove);
  const id = uniqueId('checkpoint');
  t.teardown(() => void state.oci(['delete', '--force', id]));
  t.is(state.ociDetached(['run', '--detach', '--bundle', b.dir, id]).status, 0);

  const checkpoint = state.oci(['checkpoint', '--image-path', `${b.dir}/image`, '--leave-running', id]);
  t.is(checkpoint.status, 1);
  t.is(checkpoint.stderr, `oci: checkpoint ${id}: checkpoint and restore are not supported: they need CRIU, which oci does not drive\n`);
  t.is(JSON.parse(state.oci(['state', id]).stdout).status, 'running');

  t.regex(state.oci(['restore', '--bundle', b.dir, id]).stderr, /already exists/);
  const restore = state.oci(['restore', '--image-path', `${b.dir}/image`, '--bundle', b.dir, uniqueId('restored')]);
  t.is(restore.status, 1);
  t.regex(restore.stderr, /checkpoint and restore are not supported/);
  t.regex(state.oci(['checkpoint', 'no-such-container']).stderr, /does not exist/);
});
