// Start a registry with the debian image for manual experiments; print its host, keep running.
import { startRegistry } from '@oci/test/harness/registry';
import { pushDebian } from './dist/src/fixtures/debian.js';
const registry = await startRegistry();
const ref = await pushDebian(registry.host);
console.log(ref);
process.on('SIGTERM', async () => { await registry.stop(); process.exit(0); });
setInterval(() => {}, 1 << 30);
