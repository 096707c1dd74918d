import { openSync } from 'node:fs';
import { Runtime } from '@oci/runtime';
const runtime = new Runtime({ root: '/run/perf-lib' });
const devNull = openSync('/dev/null', 'r+');
const n = Number(process.argv[2] ?? 100);
const steps = { create: [], start: [], wait: [], delete: [] };
let counter = 0;
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const id = `lib-${process.pid}-${++counter}`;
  let t = performance.now();
  const lap = (s) => { const now = performance.now(); steps[s].push(now - t); t = now; };
  const c = await runtime.create(id, { bundle: '/run/perf-bundle', stdio: [devNull, devNull, devNull] }); lap('create');
  await runtime.start(id); lap('start');
  await c.wait(); lap('wait');
  await runtime.delete(id); lap('delete');
}
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log(`per container ${((performance.now() - t0) / n).toFixed(2)} ms;`, Object.entries(steps).map(([k, v]) => `${k} ${med(v).toFixed(2)}`).join(', '));
