/**
 * The inside of world.ts's world: run by unshare(1) as root in a new mount and network
 * namespace, with the world's directory as its argument (examples.json in, results.json out).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyboxImage, busyboxLayer } from './busybox.js';
import { makeCertificates } from './certs.js';
import { ociBin, ociFrontDoor } from './cli.js';
import { type BuiltImage, buildImage, buildIndex, pushLayout, writeLayout } from './images.js';
import { type Podman, startPodman } from './podman.js';
import { type Registry, startRegistry } from './registry.js';
import { type Example, type Ran, WORLD_TOKEN } from './world.js';

const NOBODY = 65534;
/** What points podman at the private instance an example gets. */
const PODMAN_VARIABLES = ['CONTAINERS_CONF', 'CONTAINERS_STORAGE_CONF', 'CONTAINERS_REGISTRIES_CONF'];
const worldDir = process.argv[2]!;
const at = (...parts: string[]) => path.join(worldDir, ...parts);

/** Where the README's registries are: one open registry behind several names, one that wants a login. */
const OPEN = '127.0.0.1';
const LOGIN = '127.0.0.2';
const HOSTS = { [OPEN]: ['registry-1.docker.io', 'registry.example', 'mirror.example'], [LOGIN]: ['ghcr.io', 'quay.io'] };

function must(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.error}`);
}

/** Fresh directories over the host's paths the examples use as root, and the world's /etc/hosts. */
function furnish(): void {
  chmodSync(worldDir, 0o755); // nobody's examples work in it
  mkdirSync(at('home'));
  must('ip', ['link', 'set', 'lo', 'up']);
  for (const [target, own] of [
    ['/run', 'run'],
    ['/var/lib', 'var-lib'],
    ['/srv', 'srv'],
    ['/usr/local/bin', 'usr-local-bin'],
  ] as const) {
    mkdirSync(at(own), { mode: 0o755 });
    must('mount', ['--bind', at(own), target]);
  }
  const hosts =
    readFileSync('/etc/hosts', 'utf8') +
    Object.entries(HOSTS)
      .map(([address, names]) => `${address} ${names.join(' ')}\n`)
      .join('');
  writeFileSync(at('hosts'), hosts);
  must('mount', ['--bind', at('hosts'), '/etc/hosts']);
  // The README's set-up puts oci on the PATH this way; examples before that line need it too.
  symlinkSync(ociFrontDoor, '/usr/local/bin/oci');
}

/** busybox-based stand-ins for the images the README names: what oci does with them is real. */
async function images(): Promise<Record<string, BuiltImage>> {
  const busybox = await busyboxImage();
  const layer = await busyboxLayer();
  const platform = (architecture: string) =>
    buildImage([layer], { architecture, os: 'linux', config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] } });
  const multiPlatform = buildIndex([platform('amd64'), platform('arm64')]);
  const nginx = buildImage([layer], {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['httpd', '-f', '-p', '80', '-h', '/www'], ExposedPorts: { '80/tcp': {} } },
  });
  return {
    'docker.io/library/busybox:latest': busybox,
    'docker.io/library/alpine:3.20': multiPlatform,
    'docker.io/library/alpine:latest': multiPlatform,
    'docker.io/library/nginx:latest': nginx,
    'registry.example/app:1': multiPlatform,
    'registry.example/team/app:1': multiPlatform,
    '127.0.0.1:5000/library/busybox:latest': busybox,
  };
}

async function startRegistries(): Promise<Registry[]> {
  mkdirSync(at('certs'));
  const certs = makeCertificates(at('certs'), Object.values(HOSTS).flat());
  process.env.NODE_EXTRA_CA_CERTS = certs.caFile;
  const tls = { certFile: certs.certFile, keyFile: certs.keyFile };
  const registries = [
    await startRegistry({ tls, address: { host: OPEN, port: 443 } }),
    await startRegistry({ tls, address: { host: LOGIN, port: 443 }, auth: { htpasswd: { users: { me: WORLD_TOKEN } } } }),
    await startRegistry({ address: { host: OPEN, port: 5000 } }),
  ];
  const layout = at('layout');
  const all = await images();
  writeLayout(layout, all);
  for (const reference of Object.keys(all)) pushLayout(layout, reference, reference);
  return registries;
}

/** Runs `argv` at a pty until the program exits; an interactive shell's prompt gets `exit`. */
const AT_TERMINAL = `
import os, pty, re, select, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out, since, status = b'', b'', None
while True:
    data = b''
    if select.select([fd], [], [], 0.2)[0]:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: nothing holds the terminal any more
            pass
    if data:
        out += data
        since += data
        if re.search(rb'# (\\x1b\\[6n)?$', since):  # busybox's line editing asks where the cursor is
            os.write(fd, b'exit\\r')
            since = b''
        continue
    if status is None:
        done, waited = os.waitpid(pid, os.WNOHANG)
        status = waited if done else None
    if status is not None:
        break
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

function run(example: Example, index: number, podman: Podman | undefined): Ran {
  const cwd = example.cwd ?? at('work', String(index));
  mkdirSync(cwd, { recursive: true });
  const runtimeDir = at('nobody-run', String(index));
  if (example.asNobody) {
    mkdirSync(path.dirname(runtimeDir), { recursive: true });
    mkdirSync(runtimeDir, { mode: 0o700 });
    chownSync(runtimeDir, NOBODY, NOBODY);
    chownSync(cwd, NOBODY, NOBODY);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: [...(example.path ?? []), '/usr/local/bin', path.dirname(process.execPath), '/usr/sbin:/usr/bin:/sbin:/bin'].join(':'),
    HOME: at('home'),
    TERM: 'xterm',
    TOKEN: WORLD_TOKEN,
    NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS,
    ...(podman && Object.fromEntries(PODMAN_VARIABLES.map((name) => [name, podman.env[name]]))),
    ...(example.asNobody && { HOME: cwd, XDG_RUNTIME_DIR: runtimeDir }),
    ...example.env,
  };
  const given = example.given ? capture(['sh', '-ec', example.given], cwd, env) : undefined;
  if (given && given.status !== 0) return { ...given, givenStatus: given.status };

  const moduleDir = example.moduleDir ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
  const file = example.lang === 'sh' ? at('work', `${index}.sh`) : path.join(moduleDir, `world-example-${process.pid}-${index}.mjs`);
  writeFileSync(file, example.code, { mode: 0o644 });
  let argv = example.lang === 'sh' ? ['sh', '-e', file] : [process.execPath, file];
  if (example.asNobody) argv = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv];
  if (example.terminal) argv = ['python3', '-c', AT_TERMINAL, ...argv];
  try {
    const ran: Ran = { givenStatus: given?.status ?? 0, ...capture(argv, cwd, env) };
    if (example.afterwards) {
      const afterwards = capture(['sh', '-c', `exec 2>&1; ${example.afterwards}`], cwd, env);
      ran.afterwards = { status: afterwards.status, output: afterwards.stdout };
    }
    return ran;
  } finally {
    rmSync(file, { force: true });
  }
}

/** Output through files: a container the example leaves running keeps what it was given open. */
function capture(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Omit<Ran, 'givenStatus'> {
  const out = at('out');
  const err = at('err');
  const fds = [openSync(out, 'w'), openSync(err, 'w')] as const;
  try {
    const { status } = spawnSync(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', fds[0], fds[1]], timeout: 180_000, killSignal: 'SIGKILL' });
    return { status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** Containers an example left (it failed half-way): deleted, so that nothing keeps the world alive. */
function deleteContainers(): void {
  const nobodys = existsSync(at('nobody-run')) ? readdirSync(at('nobody-run')).map((dir) => at('nobody-run', dir, 'oci')) : [];
  for (const root of ['/run/oci', ...nobodys.filter((dir) => existsSync(dir))]) {
    const ids = spawnSync(ociBin, ['--root', root, 'list', '-q'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const id of ids) spawnSync(ociBin, ['--root', root, 'delete', '--force', id]);
  }
}

const examples = JSON.parse(readFileSync(at('examples.json'), 'utf8')) as Example[];
furnish();
const registries = await startRegistries();
const results: Record<string, Ran> = {};
let podman: Podman | undefined;
try {
  for (const [index, example] of examples.entries()) {
    if (example.podman && !podman)
      podman = startPodman({ jsonRuntimes: example.podman.jsonRuntimes, searchRegistries: ['docker.io'], insecureRegistries: ['docker.io'] });
    results[example.name] = run(example, index, example.podman ? podman : undefined);
  }
} finally {
  await podman?.stop();
  deleteContainers();
  for (const registry of registries) await registry.stop();
}
writeFileSync(at('results.json'), JSON.stringify(results));
