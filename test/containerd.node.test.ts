/** containerd.test.ts through Node alone (OCI_NODE_ONLY=1): that file runs it through the front door. */
import { nodeOnly } from './harness/cli.js';

nodeOnly();
await import('./containerd.test.js');
