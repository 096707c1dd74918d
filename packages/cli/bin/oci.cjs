#!/bin/sh
':' //; [ -z "${NODE_EXTRA_CA_CERTS-}" ] || { OCI_NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; export OCI_NODE_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS; }
':' //; exec node "$0" "$@"
// This file is both a POSIX sh script (the two lines above) and the CommonJS entry of the oci
// command (what follows; `node oci.cjs …` runs only this part). Run as a program, sh takes
// NODE_EXTRA_CA_CERTS out of Node's environment before exec'ing it: Node would parse that CA
// bundle at start, ~80 ms on every `oci` command (`oci state` on an engine's hot path too),
// though only a registry's TLS connection needs it. It is put back here, where Node no longer
// reads it, so the registry client (registry/http.ts) trusts those CAs when it makes a TLS
// connection, and programs we start (credential helpers) inherit it as before.
// CommonJS on purpose: see scripts/bundle.mjs.
const setAside = process.env.OCI_NODE_EXTRA_CA_CERTS;
if (setAside !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = setAside;
  delete process.env.OCI_NODE_EXTRA_CA_CERTS;
}
// With --debug, stack traces name the TypeScript sources (maps are read as modules load).
const debug = process.argv.includes('--debug');
if (debug) process.setSourceMapsEnabled(true);
// Help loads a command's file without running it: what it compiles would make a poor cache.
const help = process.argv.some((arg) => arg === '--help' || arg === '-h' || arg === 'help');
const load = debug ? (name) => require(`../dist/${name}`) : require('../scripts/code-cache.cjs').useCodeCache(`${__dirname}/../dist`, { write: !help });
const cli = load('oci.cjs');
cli.endWithoutTeardown();
cli.main(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
});
