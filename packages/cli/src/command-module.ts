import type { Command } from './command.js';

/**
 * What commands/NAME.ts declares. Bundled (scripts/bundle.mjs), this module becomes a require()
 * of that command's own file, dist/commands/NAME.cjs, so that each command is parsed only when it runs.
 */
export async function importCommand(name: string): Promise<Command> {
  return ((await import(`./commands/${name}.js`)) as { default: Command }).default;
}
