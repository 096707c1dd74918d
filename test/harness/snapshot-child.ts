/**
 * A second process preparing snapshots, for the race and kill -9 tests:
 *   snapshot-child.js STORE IMAGE    prepares IMAGE's chain, prints {"applied":N}
 */
import { prepareSnapshots, readImage, Store } from '@oci/image';

const [dir, name] = process.argv.slice(2);
const store = await Store.open(dir!);
const prepared = await prepareSnapshots(store, await readImage(store, name!));
process.stdout.write(`${JSON.stringify({ applied: prepared.applied })}\n`);
