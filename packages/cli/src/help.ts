/** Help text, rendered from the commands' own declarations. */
import { formatOptions } from './args.js';
import { globalOptions, type Command } from './command.js';
import { commands } from './commands/index.js';

export async function generalHelp(): Promise<string> {
  const loaded = await Promise.all(Object.values(commands).map(async (load) => (await load()).default));
  const width = Math.max(...loaded.map((c) => c.name.length));
  return [
    'oci: pull OCI and Docker images, unpack them into bundles, run them (a runc-compatible runtime)',
    '',
    'Usage: oci [global options] COMMAND [options] [arguments]',
    '',
    'Commands:',
    ...loaded.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    ...formatOptions(globalOptions),
    '',
    "Run 'oci COMMAND --help' for a command's options.",
    '',
  ].join('\n');
}

export function commandHelp(command: Command): string {
  const options = formatOptions(command.options);
  return [
    `Usage: oci ${command.name} ${command.usage}`,
    '',
    command.summary,
    ...(options.length > 0 ? ['', 'Options:', ...options] : []),
    '',
    'Global options:',
    ...formatOptions(globalOptions),
    '',
  ].join('\n');
}
