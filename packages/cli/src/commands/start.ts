import { containerCommand } from '../runtime.js';

export default containerCommand((runtime, id) => runtime.start(id));
