/** Help text, rendered from the commands' own declarations. */
import { formatOptions } from './args.js';
import { globalOptions, globalOptionsOf, type ListedCommand } from './command.js';
import { summaries } from './commands/index.js';

export function generalHelp(): string {
  const names = Object.keys(summaries);
  const width = Math.max(...names.map((name) => name.length));
  return [
    'oci: pull OCI and Docker images, unpack them into bundles, run them (a runc-compatible runtime)',
    '',
    'Usage: oci [global options] COMMAND [options] [arguments]',
    '',
    'Commands:',
    ...names.map((name) => `  ${name.padEnd(width)}  ${summaries[name]}`),
    '',
    'Global options:',
    ...formatOptions(globalOptions),
    '',
    "Run 'oci COMMAND --help' for a command's options.",
    '',
  ].join('\n');
}

export function commandHelp(command: ListedCommand): string {
  const options = formatOptions(command.options);
  return [
    ...command.usage.split('\n').map((form, i) => `${i === 0 ? 'Usage:' : '      '} oci ${command.name} ${form}`),
    '',
    command.summary,
    ...(command.details ? ['', command.details] : []),
    ...(options.length > 0 ? ['', 'Options:', ...options] : []),
    '',
    'Global options:',
    ...formatOptions(globalOptionsOf(command)),
    '',
  ].join('\n');
}
