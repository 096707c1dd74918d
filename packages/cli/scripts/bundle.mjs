// Bundles the `oci` executable into one CommonJS file.
// Why: on Node 20 an ESM entry costs ~10 ms before the first line runs, and every module
// file a few more; engines start `oci state`/`oci create` on their hot path. One CommonJS file
// starts within a few ms of `node -e 0` (measured by `pnpm bench startup`).
// The libraries stay ESM for library users; only the command is bundled. Dependencies from
// npm stay external, loaded by require() when a command first needs them.
// Bundled code must not find its files relative to import.meta.url (it becomes this bundle's
// URL): resolve through a package name instead, as @oci/native does.
import { build } from 'esbuild';

const bundled = (name) => name.startsWith('@oci/') || name.startsWith('.') || name.startsWith('/');

await build({
  entryPoints: [new URL('../dist/src/main.js', import.meta.url).pathname],
  outfile: new URL('../dist/oci.cjs', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [
    {
      name: 'external-npm-packages',
      setup(b) {
        b.onResolve({ filter: /.*/ }, ({ path, kind }) => (kind !== 'entry-point' && !bundled(path) ? { external: true } : undefined));
      },
    },
  ],
});
