/**
 * node:fs/promises, loaded by its first use rather than with the modules that use it: it brings
 * Node's readline, dir and watcher modules (~2-4 ms of a command's start here), and a command
 * that only reads the store (`oci run IMAGE`, `oci unpack --overlay` of an unpacked image) does
 * so synchronously, never needing it.
 */
export const fsp = (): typeof import('node:fs/promises') => process.getBuiltinModule('node:fs/promises');
