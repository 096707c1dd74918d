import { containerCommand } from '../runtime.js';

export default containerCommand((runtime, id) => runtime.pause(id));
