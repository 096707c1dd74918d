import { containerCommand } from '../runtime.js';

export default containerCommand('pause', (runtime, id) => runtime.pause(id));
