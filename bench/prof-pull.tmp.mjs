import { rmSync } from 'node:fs';
import { pull, Store } from '@oci/image';
const options = { hosts: { mirrors: new Map(), insecure: new Set() } };
for (let i = 0; i < 6; i++) {
  rmSync('/tmp/pst', { recursive: true, force: true });
  const t = performance.now();
  await pull(await Store.open('/tmp/pst', { create: true }), '127.0.0.1:46681/library/debian:bookworm', options);
  console.log((performance.now() - t).toFixed(1));
}
