import { containerCommand } from '../runtime.js';

export default containerCommand((runtime, id, { options, positionals }) => runtime.kill(id, positionals[1] ?? 'SIGTERM', { all: options.all }), {
  usage: '[options] ID [SIGNAL]',
  options: {
    all: { type: 'boolean', short: 'a', describe: "signal every process in the container's cgroup" },
  },
  positionals: { min: 1, max: 2 },
});
