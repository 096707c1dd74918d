/**
 * A second process working on a store, for the store's concurrency tests:
 *   store-child.js DIR refs PREFIX COUNT   names COUNT images PREFIX-0… one after another
 *   store-child.js DIR lease               writes a blob inside a lease, says "leased", then waits
 *   store-child.js DIR create TIME         opens DIR, making it a store, at TIME (ms since the epoch)
 */
import { setTimeout } from 'node:timers/promises';
import { Store } from '../../src/index.js';

const [dir, action, prefix, count] = process.argv.slice(2);
if (action === 'create') {
  // At the time given, with other processes: their making the store races ours.
  await setTimeout(Number(prefix) - Date.now());
  await Store.open(dir!, { create: true });
  process.exit(0);
}
const store = await Store.open(dir!);
if (action === 'refs') {
  for (let i = 0; i < Number(count); i++) {
    const descriptor = await store.writeJSON({ prefix, i }, 'application/vnd.oci.image.manifest.v1+json');
    await store.setRef(`${prefix}-${i}`, descriptor);
  }
} else if (action === 'lease') {
  await store.lease(async () => {
    await store.writeBlob([Buffer.from(`leased by ${process.pid}`)]);
    process.stdout.write('leased\n');
    await new Promise(() => setInterval(() => {}, 1000));
  });
}
