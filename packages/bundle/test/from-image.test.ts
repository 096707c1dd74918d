import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { volumeSource } from '../src/from-image.js';
import { BundleError, defaultSpec, resolveUser, specFromImage, toRootless } from '../src/index.js';
import { subordinateIds } from '../src/subordinate-ids.js';

function rootfs(t: { teardown(fn: () => void): void }, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-rootfs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'etc'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n';
const GROUP = 'root:x:0:\napp:x:1000:\nstaff:x:50:app,web\naudio:x:29:app\nwww:x:33:\n';

test('User: names, ids, name:group, uid:gid, and supplementary groups from /etc/group unless the group is given', (t) => {
  const dir = rootfs(t, { 'etc/passwd': PASSWD, 'etc/group': GROUP });
  t.deepEqual(resolveUser(dir, undefined), { uid: 0, gid: 0, additionalGids: [], name: 'root', home: '/root' });
  t.deepEqual(resolveUser(dir, 'app'), { uid: 1000, gid: 1000, additionalGids: [50, 29], name: 'app', home: '/home/app' });
  t.deepEqual(resolveUser(dir, '1000'), { uid: 1000, gid: 1000, additionalGids: [50, 29], name: 'app', home: '/home/app' });
  // conversion.md: a converter SHOULD NOT add the supplementary groups when the group is given.
  t.deepEqual(resolveUser(dir, 'app:staff'), { uid: 1000, gid: 50, additionalGids: [], name: 'app', home: '/home/app' });
  t.deepEqual(resolveUser(dir, 'app:1000'), { uid: 1000, gid: 1000, additionalGids: [], name: 'app', home: '/home/app' });
  t.deepEqual(resolveUser(dir, 'web:7'), { uid: 33, gid: 7, additionalGids: [], name: 'web', home: '/var/www' });
  t.deepEqual(resolveUser(dir, '4242'), { uid: 4242, gid: 0, additionalGids: [] }, 'a uid without a passwd entry is taken as is');
  t.deepEqual(resolveUser(dir, '4242:4343'), { uid: 4242, gid: 4343, additionalGids: [] });
});

test('User: an unknown user or group is an error', (t) => {
  const dir = rootfs(t, { 'etc/passwd': PASSWD, 'etc/group': GROUP });
  t.is(t.throws(() => resolveUser(dir, 'nobody'), { instanceOf: BundleError })!.message, "unknown user 'nobody': not in the image's /etc/passwd");
  t.is(t.throws(() => resolveUser(dir, 'app:wheel'), { instanceOf: BundleError })!.code, 'EUSER');
  t.is(t.throws(() => resolveUser(dir, ':1'), { instanceOf: BundleError })!.code, 'EUSER');
});

test('User: /etc/passwd is read inside the rootfs, whatever symlinks point at', (t) => {
  const host = rootfs(t, { 'etc/passwd': 'hostonly:x:777:777::/:/bin/sh\n' });
  const dir = rootfs(t, { 'etc/real-passwd': PASSWD });
  symlinkSync(path.join(host, 'etc/passwd'), path.join(dir, 'etc/passwd')); // absolute: means the rootfs' own path
  t.throws(() => resolveUser(dir, 'hostonly'), { instanceOf: BundleError }, 'the host file was not read');
  rmSync(path.join(dir, 'etc/passwd'));
  symlinkSync('/etc/real-passwd', path.join(dir, 'etc/passwd'));
  t.is(resolveUser(dir, 'app').uid, 1000, 'an absolute symlink resolves inside the rootfs');
  rmSync(path.join(dir, 'etc/passwd'));
  symlinkSync(`../../../../../..${host}/etc/passwd`, path.join(dir, 'etc/passwd'));
  t.throws(() => resolveUser(dir, 'hostonly'), { instanceOf: BundleError }, '"../" stops at the rootfs');
});

test('image config → config.json by the conversion rules', (t) => {
  const dir = rootfs(t, { 'etc/passwd': PASSWD, 'etc/group': GROUP });
  const image = {
    architecture: 'amd64',
    os: 'linux',
    author: 'someone',
    created: '2024-01-01T00:00:00Z',
    config: {
      Entrypoint: ['/entry.sh'],
      Cmd: ['serve', '--port', '80'],
      Env: ['PATH=/app/bin:/usr/bin', 'LANG=C.UTF-8'],
      WorkingDir: '/srv',
      User: 'app:staff',
      Labels: { 'com.example.role': 'web', 'org.opencontainers.image.os': 'not this' },
      StopSignal: 'SIGQUIT',
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Volumes: { '/var/lib/data': {} },
    },
  };
  const spec = specFromImage(image, { rootfs: dir });
  t.deepEqual(spec.process!.args, ['/entry.sh', 'serve', '--port', '80']);
  t.deepEqual(spec.process!.env, ['PATH=/app/bin:/usr/bin', 'HOME=/home/app', 'LANG=C.UTF-8']);
  t.is(spec.process!.cwd, '/srv');
  t.deepEqual(spec.process!.user, { uid: 1000, gid: 50 });
  t.false(spec.process!.terminal);
  t.deepEqual(spec.root, { path: 'rootfs', readonly: false });
  t.deepEqual(spec.mounts!.at(-1), { destination: '/var/lib/data', type: 'bind', source: 'volumes/var_lib_data', options: ['rbind', 'rw'] });
  t.like(spec.annotations, {
    'com.example.role': 'web',
    'org.opencontainers.image.os': 'linux',
    'org.opencontainers.image.architecture': 'amd64',
    'org.opencontainers.image.author': 'someone',
    'org.opencontainers.image.created': '2024-01-01T00:00:00Z',
    'org.opencontainers.image.stopSignal': 'SIGQUIT',
    'org.opencontainers.image.exposedPorts': '80/tcp,53/udp',
  });
  t.deepEqual(specFromImage(image, { rootfs: dir, args: ['debug'] }).process!.args, ['/entry.sh', 'debug'], 'args replace Cmd');
  t.deepEqual(specFromImage(image, { rootfs: dir, entrypoint: ['/bin/sh'] }).process!.args, ['/bin/sh'], 'a new entrypoint drops Cmd');
  const tty = specFromImage(image, { rootfs: dir, tty: true, env: ['LANG=fr_FR.UTF-8'], user: 'root' }).process!;
  t.true(tty.terminal);
  t.deepEqual(tty.env, ['PATH=/app/bin:/usr/bin', 'HOME=/root', 'TERM=xterm', 'LANG=fr_FR.UTF-8']);
  t.is(
    specFromImage({ ...image, config: { ...image.config, Env: [] } }, { rootfs: dir }).process!.env![0],
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'PATH defaults',
  );
  t.is(t.throws(() => specFromImage({ ...image, config: {} }, { rootfs: dir }), { instanceOf: BundleError })!.code, 'ECONFIG');
});

test('volumes: destinations normalised, each its own directory under volumes/, the root refused', (t) => {
  const dir = rootfs(t);
  const sources = ['/a/b', '/a_b', '/a%5Fb', '/a/../c/', '//d//e'].map(volumeSource);
  t.deepEqual(sources, ['volumes/a_b', 'volumes/a%5Fb', 'volumes/a%255Fb', 'volumes/c', 'volumes/d_e']);
  t.is(new Set(sources).size, sources.length);
  for (const volume of ['/', '/..', '/.', '/a/../..', '//']) {
    const error = t.throws(() => specFromImage({ os: 'linux', architecture: 'amd64', config: { Cmd: ['sh'], Volumes: { [volume]: {} } } }, { rootfs: dir }), {
      instanceOf: BundleError,
    });
    t.is(error!.message, `volume '${volume}' is the container's root directory, which cannot be a volume`);
  }
  const spec = specFromImage(
    { os: 'linux', architecture: 'amd64', config: { Cmd: ['sh'], Volumes: { '/../data': {}, '/data/': {} }, WorkingDir: '/srv/../..' } },
    { rootfs: dir },
  );
  t.deepEqual(
    spec.mounts!.filter((m) => m.source?.startsWith('volumes/')).map((m) => [m.destination, m.source]),
    [['/data', 'volumes/data']],
  );
  t.is(spec.process!.cwd, '/');
});

test('the rootless spec is runc spec --rootless', (t) => {
  const spec = toRootless(defaultSpec(), { uid: 1000, gid: 1001 });
  t.deepEqual(
    spec.linux!.namespaces!.map((n) => n.type),
    ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'user'],
  );
  t.deepEqual(spec.linux!.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
  t.deepEqual(spec.linux!.gidMappings, [{ containerID: 0, hostID: 1001, size: 1 }]);
  t.is(spec.linux!.resources, undefined);
  t.deepEqual(
    spec.mounts!.find((m) => m.destination === '/sys'),
    { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] },
  );
  t.false(spec.mounts!.find((m) => m.destination === '/dev/pts')!.options!.includes('gid=5'));
});

test("the rootless spec maps the caller's subordinate ids after its own, from /etc/subuid-style files", (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-subid-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'subuid');
  writeFileSync(file, 'alice:100000:65536\n1000:300000:10\nbob:200000:65536\n# comment\nalice:bad:1\n');
  const uids = subordinateIds(file, { uid: 1000, name: 'alice' });
  t.deepEqual(uids, [
    { start: 100000, count: 65536 },
    { start: 300000, count: 10 },
  ]);
  t.deepEqual(subordinateIds(path.join(dir, 'missing'), { uid: 1000 }), []);
  const spec = toRootless(defaultSpec(), { uid: 1000, gid: 1001, subordinate: { uids, gids: [] } });
  t.deepEqual(spec.linux!.uidMappings, [
    { containerID: 0, hostID: 1000, size: 1 },
    { containerID: 1, hostID: 100000, size: 65536 },
    { containerID: 65537, hostID: 300000, size: 10 },
  ]);
  t.deepEqual(spec.linux!.gidMappings, [{ containerID: 0, hostID: 1001, size: 1 }]);
});
