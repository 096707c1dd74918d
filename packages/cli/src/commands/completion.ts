import { defineCommand } from '../command.js';
import { bashCompletion, fishCompletion, zshCompletion } from '../completion.js';
import { print } from '../print.js';
import { loadCommand, summaries } from './index.js';

const SHELLS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion } as const;

export default defineCommand({
  usage: 'bash|zsh|fish',
  options: {},
  positionals: { min: 1, max: 1 },
  completes: Object.keys(SHELLS),
  async run({ positionals }) {
    const shell = positionals[0]!;
    if (!Object.hasOwn(SHELLS, shell)) throw new Error(`no completion for ${shell}: bash, zsh or fish`);
    // Every command's declarations, loaded here (each is its own bundle): the one source of truth.
    const loaded = await Promise.all(Object.keys(summaries).map(loadCommand));
    print(SHELLS[shell as keyof typeof SHELLS]({ commands: loaded }));
  },
});
