#!/usr/bin/env node
// CommonJS on purpose: see scripts/bundle.mjs.
// With --debug, stack traces name the TypeScript sources (maps are read as modules load).
if (process.argv.includes('--debug')) process.setSourceMapsEnabled(true);
require('../dist/oci.cjs')
  .main(process.argv.slice(2))
  .then((status) => {
    process.exitCode = status;
  });
