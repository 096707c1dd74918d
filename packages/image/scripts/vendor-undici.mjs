// Bundles the two parts of undici the registry client uses (Agent, Dispatcher#request) into one
// file, dist/vendor/undici.cjs. Why: loading them from undici's ~45 files costs `oci pull`
// 35-80 ms on these machines (module resolution and many small reads); one file costs about half.
// src/registry/http.ts loads it by package name (@oci/image/vendor/undici), which works from
// the library and from the oci bundle alike.
import { build } from 'esbuild';

await build({
  stdin: {
    contents: "module.exports = { Agent: require('undici/lib/dispatcher/agent.js'), request: require('undici/lib/api/api-request.js') };",
    resolveDir: new URL('..', import.meta.url).pathname,
    loader: 'js',
  },
  outfile: new URL('../dist/vendor/undici.cjs', import.meta.url).pathname,
  bundle: true,
  minify: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
});
