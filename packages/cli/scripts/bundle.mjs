// Bundles the `oci` executable into CommonJS: dist/oci.cjs (the entry: options, help, errors)
// and one file per command, dist/commands/NAME.cjs, loaded when that command runs.
// Why: on Node 20 an ESM entry costs ~10 ms before the first line runs, and every module
// file a few more; engines start `oci state`/`oci create` on their hot path. CommonJS files
// start within a few ms of `node -e 0` (measured by `pnpm bench startup`), and V8 parses every
// byte of a file it loads: one file per command keeps `oci state` from parsing the registry
// client and `oci pull` from parsing the runtime.
// The libraries stay ESM for library users; only the command is bundled. Dependencies from
// npm stay external, loaded by require() when a command first needs them, except the pure-JS
// ones in npmBundled.
// Bundled code must not find its files relative to import.meta.url (it becomes this bundle's
// URL): resolve through a package name instead, as @oci/native does.
import { copyFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';

const dist = new URL('../dist/', import.meta.url).pathname;
const commandsDir = path.join(dist, 'src', 'commands');
const commandFiles = readdirSync(commandsDir).filter((f) => f.endsWith('.js') && f !== 'index.js');

// Bundled with what they import: from node_modules, cli-progress cost every `oci pull` and
// `oci push` on a terminal ~25 ms (resolving ten modules through pnpm's links, compiling them
// with no code cache); bundled, it is part of the command's file and its code cache.
const npmBundled = new Set(['cli-progress']);
const insideNodeModules = (file) => file.split(path.sep).includes('node_modules');
const bundled = (name, importer) =>
  name.startsWith('@oci/') || name.startsWith('.') || name.startsWith('/') || npmBundled.has(name) || insideNodeModules(importer);

const externalNpmPackages = {
  name: 'external-npm-packages',
  setup(b) {
    b.onResolve({ filter: /.*/ }, ({ path, kind, importer }) => (kind !== 'entry-point' && !bundled(path, importer) ? { external: true } : undefined));
  },
};

/**
 * A command's module (src/command-module.ts) is a require() of the command's own file, from the
 * entry and from the command that reads them all (completion): `from` is where those files are,
 * seen from the bundle's own file. In a command's file, an `import('./NAME.js')` of a sibling
 * requires that sibling's file (run.cjs loads run-image.cjs only to run an image, so `oci run
 * ID` never parses the image code).
 */
const commandFilesApart = (from) => ({
  name: 'command-files-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\/command-module\.js$/ }, () => ({ path: 'command-module', namespace: 'command-module' }));
    b.onLoad({ filter: /.*/, namespace: 'command-module' }, () => ({
      // The file's name in a variable: esbuild would bundle every file a require('./…' + name) could
      // match. Relative, so scripts/code-cache.cjs loads it from its code cache.
      contents: `exports.importCommand = async (name) => { const file = ${JSON.stringify(from)} + name + '.cjs'; return require(file).default; };`,
      loader: 'js',
    }));
    b.onResolve({ filter: /^\.\/[\w-]+\.js$/ }, ({ path: request, importer, kind }) =>
      kind === 'dynamic-import' && path.dirname(importer) === commandsDir ? { path: request.replace(/\.js$/, '.cjs'), external: true } : undefined,
    );
    b.onResolve({ filter: /^\.\/(commands\/)?[\w-]+\.cjs$/ }, ({ path: request }) => ({ path: request, external: true }));
  },
});

const common = {
  bundle: true,
  // import() becomes require(): the files run from V8's code cache (scripts/code-cache.cjs),
  // where Node 20 cannot resolve an import(). npm dependencies must therefore be CommonJS.
  supported: { 'dynamic-import': false },
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'linked',
  // The command is one program with the libraries in it: it may reach their modules that are
  // not public (the packages' `oci-internal` exports condition), since it never loads them from
  // an installed package.
  conditions: ['oci-internal'],
  logLevel: 'warning',
  // Whitespace and comments out: V8 reads, hashes and scans less, and a single non-ASCII
  // character (a '…' in a kept comment) would make the whole source a two-byte string, which
  // costs every command ~1 ms more to load from its code cache. Stack traces use the maps.
  minifyWhitespace: true,
  // The bundle's own location, for the code that finds packages from it. import.meta.url is a
  // getter: building the URL loads node:url, which the runtime's commands do not otherwise need.
  define: { 'import.meta.dirname': '__dirname', 'import.meta.url': '__bundle.url' },
  banner: { js: 'const __bundle = { get url() { return require("node:url").pathToFileURL(__filename).href; } };' },
};

// Code caches of the previous build (scripts/code-cache.cjs) would never match again.
for (const dir of [dist, path.join(dist, 'commands')]) {
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    // first build
  }
  for (const name of names) if (name.endsWith('.v8cache')) rmSync(path.join(dir, name), { force: true });
}

await Promise.all([
  build({
    ...common,
    entryPoints: [path.join(dist, 'src', 'main.js')],
    outfile: path.join(dist, 'oci.cjs'),
    plugins: [commandFilesApart('./commands/'), externalNpmPackages],
  }),
  build({
    ...common,
    entryPoints: commandFiles.map((f) => path.join(commandsDir, f)),
    outdir: path.join(dist, 'commands'),
    outExtension: { '.js': '.cjs' },
    plugins: [commandFilesApart('./'), externalNpmPackages],
  }),
]);

// The executable `oci`: the native front door (packages/native/src/front-door), which serves the
// engines' hot calls itself and hands the rest to bin/oci.cjs, found beside it. Copied, not
// linked: it finds oci.cjs through /proc/self/exe, which resolves links. Replaced by rename, so
// that a running `oci` is never written over.
const frontDoor = path.join(path.dirname(createRequire(import.meta.url).resolve('@oci/native/package.json')), 'build', 'Release', 'oci-front-door');
const bin = new URL('../bin/oci', import.meta.url).pathname;
copyFileSync(frontDoor, `${bin}.${process.pid}`);
renameSync(`${bin}.${process.pid}`, bin);
