/**
 * The shape of the workspace's import graph, checked by test/structure.test.ts (in `pnpm test`)
 * and by hand with `pnpm exec depcruise packages/*\/src bench/src`.
 *
 * Imports are read from the TypeScript sources by swc (TypeScript 7 has no JavaScript API for
 * dependency-cruiser to use), type-only imports included: a cycle of types is a cycle of
 * concerns all the same. A lazy `import()` is not an arrow here: the CLI's command list loads
 * each command lazily, and one command (completion) reads that list.
 */
const RUNTIME = '^packages/runtime/src/';

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'Modules that import each other, directly or through others.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['dynamic-import'] } },
    },
    {
      name: 'runtime-facade-on-top',
      comment: 'The Runtime façade (runtime.ts) is used by the package index and the image runner (image/), by no module beneath it.',
      severity: 'error',
      from: { path: RUNTIME, pathNot: `${RUNTIME}(index\\.ts|image/)` },
      to: { path: `${RUNTIME}runtime\\.ts$` },
    },
    {
      name: 'runtime-image-runner-on-top',
      comment: 'image/ (oci run IMAGE) is a client of the runtime: only the package index imports it.',
      severity: 'error',
      from: { path: RUNTIME, pathNot: `${RUNTIME}(index\\.ts|image/)` },
      to: { path: `${RUNTIME}image/` },
    },
    {
      name: 'runtime-plan-self-contained',
      comment:
        "plan/ computes the helper's ops from plain data: it imports plan/, the runtime's errors, the spec types and node:path (`path` to dependency-cruiser); " +
        'no file system, no addon, nothing above it (what it needs to know is read by its callers and passed in).',
      severity: 'error',
      from: { path: `${RUNTIME}plan/` },
      to: {
        pathNot: [`${RUNTIME}plan/`, `${RUNTIME}errors\\.ts$`, '^@oci/specs$', '^path$'],
      },
    },
    {
      name: 'runtime-cgroups-know-no-plan',
      comment: "cgroups/ makes, changes and reads cgroups; what the helper's plan makes of them is its callers' business (container/cgroup.ts).",
      severity: 'error',
      from: { path: `${RUNTIME}cgroups/` },
      to: { path: `${RUNTIME}plan/` },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
  },
};
