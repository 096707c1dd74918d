/**
 * The shape of the workspace's import graph, as .dependency-cruiser.cjs states it: no import
 * cycle among the TypeScript sources of the packages and bench, no upward arrow inside
 * packages/runtime.
 */

import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import { tempDir } from './harness/tmp.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function importGraph(baseDir: string, sources: string[]): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(path.join(root, '.dependency-cruiser.cjs'));
  return (await cruise(sources, { ...options, baseDir })).output as ICruiseResult;
}

/** One line a violation: the rule, then the cycle or the arrow. */
const describe = (violation: IViolation) =>
  `${violation.rule.name}: ${violation.cycle ? [violation.from, ...violation.cycle.map((step) => step.name)].join(' -> ') : `${violation.from} -> ${violation.to}`}`;

/** The TypeScript sources the check must read: every .ts file under packages/NAME/src and bench/src. */
function sourceFiles(): string[] {
  const dirs = [...readdirSync(path.join(root, 'packages')).map((name) => `packages/${name}/src`), 'bench/src'];
  return dirs.flatMap((dir) =>
    readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
      .map((file) => `${dir}/${file}`),
  );
}

test('the workspace has no import cycle and no upward arrow in the runtime', async (t) => {
  const graph = await importGraph(root, ['packages/*/src', 'bench/src']);
  const read = new Set(graph.modules.map((module) => module.source));
  t.deepEqual(
    sourceFiles().filter((file) => !read.has(file)),
    [],
    'every source file is read',
  );
  t.deepEqual(graph.summary.violations.map(describe), []);
});

test('a cycle is found, through type-only imports too', async (t) => {
  const { dir, remove } = tempDir('import-cycle');
  t.teardown(remove);
  writeFileSync(path.join(dir, 'a.ts'), "import type { B } from './b.js';\nexport interface A { b: B }\n");
  writeFileSync(path.join(dir, 'b.ts'), "import { c } from './c.js';\nexport interface B { c: typeof c }\n");
  writeFileSync(path.join(dir, 'c.ts'), "import type { A } from './a.js';\nexport const c: A | undefined = undefined;\n");
  const graph = await importGraph(dir, ['.']);
  t.deepEqual(graph.summary.violations.map(describe), ['no-cycle: a.ts -> b.ts -> c.ts -> a.ts']);
});
