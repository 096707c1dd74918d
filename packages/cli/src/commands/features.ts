import { defineCommand } from '../command.js';
import { print } from '../print.js';

export default defineCommand({
  usage: '',
  options: {},
  positionals: { min: 0, max: 0 },
  async run() {
    const { features } = await import('@oci/runtime/features');
    print(`${JSON.stringify(features(), null, '    ')}\n`);
  },
});
