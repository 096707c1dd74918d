#!/usr/bin/env node
// CommonJS on purpose: see scripts/bundle.mjs.
// With --debug, stack traces name the TypeScript sources (maps are read as modules load).
const debug = process.argv.includes('--debug');
if (debug) process.setSourceMapsEnabled(true);
else require('../scripts/code-cache.cjs').useCodeCache(require('node:path').join(__dirname, '..', 'dist'));
require('../dist/oci.cjs')
  .main(process.argv.slice(2))
  .then((status) => {
    process.exitCode = status;
  });
