import { defineCommand } from '../command.js';
import { openRuntime } from '../runtime.js';

export default defineCommand({
  name: 'pause',
  summary: "freeze every process of a container (its cgroup's freezer)",
  usage: 'ID',
  options: {},
  positionals: { min: 1, max: 1 },
  async run({ positionals }, context) {
    await (await openRuntime(context)).pause(positionals[0]!);
  },
});
