import { containerCommand } from '../runtime.js';

export default containerCommand('start', (runtime, id) => runtime.start(id));
