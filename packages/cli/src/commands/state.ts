import { print } from '../print.js';
import { containerCommand } from '../runtime.js';

export default containerCommand(async (runtime, id) => {
  print(`${JSON.stringify(await runtime.state(id), null, '  ')}\n`);
});
