import { containerCommand } from '../runtime.js';

export default containerCommand('resume', (runtime, id) => runtime.resume(id));
