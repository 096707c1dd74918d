/**
 * The packages as a Node developer gets them: `pnpm pack` of each, installed with npm from those
 * tarballs alone (npm's registry only for what is not ours) into a project outside the
 * workspace, with install scripts off (npm 11 and pnpm 10 run a dependency's only when allowed):
 * every entry point they export loads, nothing else does, and each package README's example
 * runs there as written (in world.ts's world, whose docker.io is the harness's registry).
 */

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { PACK_NOTE, REPOSITORY, readmeExamples } from './harness/readme.js';
import { run, runOk } from './harness/run.js';
import { tempDir } from './harness/tmp.js';
import { type Ran, runInWorld } from './harness/world.js';

const LIBRARIES = ['specs', 'image', 'bundle', 'runtime', 'native'];
const PACKAGES = [...LIBRARIES, 'cli'];
const INSTALL_NOTE = /^test\/pack\.test\.ts runs this (into a prefix of its own, )?with the packed tarballs in place of the registry's packages$/;

interface Packed {
  tarball: string;
  files: string[];
  manifest: Record<string, unknown> & { exports?: Record<string, unknown>; dependencies?: Record<string, string> };
}

const scratch = tempDir('pack');
test.after.always(() => scratch.remove());
const tarballs = path.join(scratch.dir, 'tarballs');
const project = path.join(scratch.dir, 'project');
const prefix = path.join(scratch.dir, 'prefix');
const packed = new Map<string, Packed>();
let examples: Map<string, Ran>;

const npm = (args: readonly string[], cwd: string) =>
  runOk('npm', [...args, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd, timeout: 300_000 });

test.before(async (t) => {
  t.timeout(900_000);
  for (const name of PACKAGES) {
    const { stdout } = await runOk('pnpm', ['pack', '--json', '--pack-destination', tarballs], {
      cwd: path.join(REPOSITORY, 'packages', name),
      timeout: 300_000,
    });
    const { filename, files } = JSON.parse(stdout) as { filename: string; files: { path: string }[] };
    const manifest = JSON.parse((await runOk('tar', ['-xzOf', filename, 'package/package.json'])).stdout) as Packed['manifest'];
    packed.set(name, { tarball: filename, files: files.map((file) => file.path), manifest });
  }
  const tarball = (name: string) => packed.get(name)!.tarball;
  writeFileSync(path.join(scratch.dir, 'package.json'), '{}'); // npm stops looking for a project here
  mkdirSync(project);
  mkdirSync(prefix);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-oci', private: true, type: 'module' }));
  // As the README's install lines say, with the tarballs for the names.
  await npm(['install', ...LIBRARIES.map(tarball)], project);
  await npm(['install', '--global', '--prefix', prefix, tarball('cli'), tarball('native')], scratch.dir);

  const byPackage = PACKAGES.map((name) => readmeExamples(`packages/${name}/README.md`).filter((example) => example.note === PACK_NOTE));
  examples = await runInWorld(
    byPackage.map(([example], i) => ({
      name: PACKAGES[i]!,
      lang: example!.lang === 'sh' ? 'sh' : 'js',
      code: example!.code,
      moduleDir: project,
      path: [path.join(prefix, 'bin')],
    })),
  );
});

test("each package's README says how to install it and has one example for this test", (t) => {
  for (const name of PACKAGES) {
    const file = `packages/${name}/README.md`;
    const mine = readmeExamples(file).filter((example) => example.note === PACK_NOTE || INSTALL_NOTE.test(example.note ?? ''));
    t.deepEqual(
      mine.map((example) => (example.code.split('\n')[0]!.startsWith('npm install') ? example.code : example.lang)),
      [`npm install ${name === 'cli' ? '--global ' : ''}@oci/${name}\n`, name === 'cli' ? 'sh' : 'js'],
      file,
    );
  }
});

test('the tarballs: licence, README, types, compiled code; no tests, sources or workspace links', (t) => {
  for (const [name, { files, manifest }] of packed) {
    t.true(files.includes('LICENSE') && files.includes('README.md') && files.includes('package.json'), name);
    t.is(manifest.license, 'Apache-2.0', name);
    t.false('private' in manifest, name);
    t.deepEqual(
      files.filter((file) => /(^|\/)test\//.test(file) || (/\.ts$/.test(file) && !file.endsWith('.d.ts'))),
      [],
      name,
    );
    t.deepEqual(
      Object.entries(manifest.dependencies ?? {}).filter(([, spec]) => spec.startsWith('workspace:')),
      [],
      name,
    );
    if (name !== 'cli')
      t.true(files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts') && manifest.types === './dist/src/index.d.ts', name);
  }
  t.deepEqual(
    packed
      .get('native')!
      .files.filter((file) => file.startsWith('prebuilds/'))
      .sort(),
    ['prebuilds/linux-x64/oci-helper', 'prebuilds/linux-x64/oci_native.node'],
  );
});

test('the prebuilt helper and the front door are packed executable (pnpm packs other files 0644)', async (t) => {
  for (const [name, file] of [
    ['native', 'prebuilds/linux-x64/oci-helper'],
    ['cli', 'bin/oci'],
  ] as const) {
    const { stdout } = await runOk('tar', ['-tvzf', packed.get(name)!.tarball, `package/${file}`]);
    t.regex(stdout, /^-rwxr-xr-x /, file);
  }
});

test("the cli's front door, where engines are pointed, runs and hands what it does not serve to the oci.cjs beside it", async (t) => {
  const frontDoor = path.join(prefix, 'lib/node_modules/@oci/cli/bin/oci');
  const call = ['--root', path.join(scratch.dir, 'state'), 'state', 'nosuch'];
  const kept = await run(frontDoor, call, { env: { ...process.env, OCI_NATIVE_ONLY: '1' } });
  t.regex(kept.stderr, /the front door hands this call to Node/);
  const handed = await run(frontDoor, call);
  t.is(handed.status, 1);
  t.regex(handed.stderr, /container "?nosuch"? does not exist/);
});

test('npm took our packages from the tarballs, not from a registry', (t) => {
  const lock = JSON.parse(readFileSync(path.join(project, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string }> };
  for (const name of LIBRARIES) t.regex(lock.packages[`node_modules/@oci/${name}`]?.resolved ?? '', /^file:.*\.tgz$/, name);
});

test('every entry point each package exports loads and has its types; modules it does not export do not load', async (t) => {
  const check = `
    import { existsSync, readFileSync } from 'node:fs';
    import { createRequire } from 'node:module';
    import path from 'node:path';
    const packageDir = (name) => path.join('node_modules', name);
    const results = {};
    for (const name of ${JSON.stringify(LIBRARIES.map((name) => `@oci/${name}`))}) {
      const { exports } = JSON.parse(readFileSync(path.join(packageDir(name), 'package.json'), 'utf8'));
      for (const [key, target] of Object.entries(exports)) {
        if (key === './package.json' || key.includes('*')) continue;
        const specifier = name + key.slice(1);
        const module = await import(specifier);
        results[specifier] = { exports: Object.keys(module).length, types: existsSync(path.join(packageDir(name), target.types)) };
      }
    }
    const refused = await import('@oci/image/dist/src/layer/tar.js').then(() => 'loaded', (error) => error.code);
    const { helperPath, loadAddon } = await import('@oci/native');
    console.log(JSON.stringify({ results, refused, helper: helperPath(), addon: loadAddon() !== null }));
  `;
  const file = path.join(project, 'check.mjs');
  writeFileSync(file, check);
  const { stdout } = await runOk(process.execPath, [file], { cwd: project });
  const { results, refused, helper, addon } = JSON.parse(stdout) as {
    results: Record<string, { exports: number; types: boolean }>;
    refused: string;
    helper: string;
    addon: boolean;
  };
  t.true(Object.keys(results).length > 20, Object.keys(results).join(' '));
  for (const [specifier, { exports, types }] of Object.entries(results)) t.true(exports > 0 && types, specifier);
  t.is(refused, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  t.is(helper, path.join(project, 'node_modules/@oci/native/prebuilds/linux-x64/oci-helper'));
  t.true(addon);
});

test("@oci/native's install script keeps the prebuilt helper and addon, which load here, and builds nothing", async (t) => {
  const native = path.join(project, 'node_modules/@oci/native');
  const { status, stderr } = await run(process.execPath, ['scripts/install.mjs'], { cwd: native, timeout: 300_000 });
  t.is(status, 0, stderr);
  t.false(existsSync(path.join(native, 'build')));
});

test('where no prebuilt addon is (another platform), `npm rebuild @oci/native` builds both from the sources the package ships', async (t) => {
  const elsewhere = path.join(scratch.dir, 'elsewhere');
  mkdirSync(elsewhere);
  writeFileSync(path.join(elsewhere, 'package.json'), JSON.stringify({ name: 'elsewhere', private: true, type: 'module' }));
  await npm(['install', packed.get('native')!.tarball], elsewhere);
  rmSync(path.join(elsewhere, 'node_modules/@oci/native/prebuilds'), { recursive: true });
  await runOk('npm', ['rebuild', '@oci/native'], { cwd: elsewhere, timeout: 600_000 });
  const { stdout } = await runOk(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "const { helperPath, loadAddon } = await import('@oci/native'); console.log(helperPath(), loadAddon().seccompInfo().api > 0)",
    ],
    { cwd: elsewhere },
  );
  t.is(stdout, `${path.join(elsewhere, 'node_modules/@oci/native/build/Release/oci-helper')} true\n`);
});

test("the specs README example uses the specs' constants", (t) => {
  const { status, stdout, stderr } = examples.get('specs')!;
  t.is(status, 0, stderr);
  t.is(stdout, 'application/vnd.oci.image.index.v1+json org.opencontainers.image.ref.name 1.2.0\n');
});

test('the image README example pulls, reads and unpacks busybox', (t) => {
  const { status, stdout, stderr } = examples.get('image')!;
  t.is(status, 0, stderr);
  t.regex(stdout, /^docker\.io\/library\/busybox:latest sha256:[0-9a-f]{64} linux\/amd64\n$/);
});

test('the bundle README example makes a bundle whose config.json runs the given command', (t) => {
  const { status, stdout, stderr } = examples.get('bundle')!;
  t.is(status, 0, stderr);
  t.true(stdout.startsWith("[ 'echo', 'hello' ] ["), stdout);
  t.regex(stdout, /'GREETING=hi'\s*\] rootfs\n\[ \{ containerID: 0, hostID: 0, size: 1 \} \]\n$/);
});

test('the runtime README example runs a container, execs in it, lists it and sees how it ended', (t) => {
  const { status, stdout, stderr } = examples.get('runtime')!;
  t.is(status, 0, stderr);
  t.is(stdout, "busybox\n{ code: 0 } [ 'demo running' ] { signal: 9 }\n");
});

test('the native README example runs the prebuilt helper and calls the prebuilt addon', (t) => {
  const { status, stdout, stderr } = examples.get('native')!;
  t.is(status, 0, stderr);
  t.regex(stdout, /^oci-helper \d+\.\d+\.\d+ \(protocol \d+\)\nlibseccomp 2\.\d+\.\d+, ISA-L (loaded|not installed)\n$/);
});

test('the cli README example runs the globally installed oci: an image, then a bundle the runc way', (t) => {
  const { status, stdout, stderr } = examples.get('cli')!;
  t.is(status, 0, stderr);
  t.regex(stdout, /^hello\n/m);
  t.regex(stdout, /^docker\.io\/library\/busybox:latest /m);
});
