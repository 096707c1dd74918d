/**
 * What a command module exports. Each command lives in its own module under commands/ and
 * imports the libraries it needs only inside `run`, so `oci state` never loads the registry client.
 */
import type { OptionSpecs, OptionValues, ParsedArgs } from './args.js';
import type { Logger } from './log.js';

/** Options every command accepts, before or after its name (runc's global flags among them). */
export const globalOptions = {
  store: { type: 'string', value: 'DIR', describe: 'content store (default $OCI_STORE, else /var/lib/oci as root, $XDG_DATA_HOME/oci otherwise)' },
  root: { type: 'string', value: 'DIR', describe: 'runtime state directory (default /run/oci as root, $XDG_RUNTIME_DIR/oci otherwise)' },
  log: { type: 'string', value: 'FILE', describe: 'write log lines to FILE instead of stderr' },
  'log-format': { type: 'string', value: 'FORMAT', choices: ['text', 'json'], describe: 'format of log lines (default text)' },
  'rootless-runtime': {
    type: 'string',
    value: 'WHEN',
    choices: ['true', 'false', 'auto'],
    describe: 'go without a cgroup where one cannot be made and config.json sets no limit (auto, the default: when not root)',
  },
  // runc's name, which engines pass (containerd's go-runc: --rootless=true): spec's and unpack's
  // --rootless, a config.json for an unprivileged user, is another thing.
  rootless: { type: 'string', choices: ['true', 'false', 'auto'], describe: '', aliasOf: 'rootless-runtime' },
  debug: { type: 'boolean', describe: 'log debug messages and print stack traces of errors' },
  help: { type: 'boolean', short: 'h', describe: 'show help' },
  version: { type: 'boolean', short: 'v', describe: 'print the version' },
} as const satisfies OptionSpecs;

export type GlobalOptions = OptionValues<typeof globalOptions>;

/** What a command uses of the global options beyond logging: the content store, the runtime's state. */
export type GlobalUse = 'store' | 'runtime';

/** The global options each use brings into a command's help; the others every command's help shows, but --version. */
const GLOBALS_OF: Readonly<Record<GlobalUse, readonly (keyof typeof globalOptions)[]>> = { store: ['store'], runtime: ['root', 'rootless-runtime'] };

/** The global options `command --help` lists: logging's, and those of what it uses. */
export function globalOptionsOf(command: Pick<Command, 'uses'>): OptionSpecs {
  const scoped = new Set(Object.values(GLOBALS_OF).flat());
  const used = new Set((command.uses ?? []).flatMap((use) => GLOBALS_OF[use]));
  return Object.fromEntries(Object.entries(globalOptions).filter(([name]) => name !== 'version' && (!scoped.has(name as never) || used.has(name as never))));
}

export interface Context {
  readonly globals: GlobalOptions;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly log: Logger;
}

/** What commands/NAME.ts declares; its name and summary are the commands index's (commands/index.ts). */
export interface Command<T extends OptionSpecs = OptionSpecs> {
  /** What follows `oci NAME` in the usage line, e.g. `[options] REF`; several lines for several forms. */
  readonly usage: string;
  /** Paragraphs of help after the summary, when a command needs more than one line. */
  readonly details?: string;
  readonly options: T;
  readonly positionals: { readonly min: number; readonly max: number };
  /** After this many positionals the rest of the line is the container's command, passed untouched. */
  readonly restAfter?: number;
  /** What its first argument is, for shell completion: an image in the store, a container, a file, or one of some words. */
  readonly completes?: 'image' | 'container' | 'file' | readonly string[];
  /** The global options it reads beyond logging (its help lists those); every command accepts all of them. */
  readonly uses?: readonly GlobalUse[];
  /** Returns the exit status; undefined means 0. */
  /** A command's own option wins over a global one of the same name (`spec --rootless`, not runc's global). */
  run(args: ParsedArgs<Omit<typeof globalOptions, keyof T> & T>, context: Context): Promise<number | void>;
}

/** A command as the CLI runs it: its declaration, with the name and `oci --help` line the index gives it. */
export interface ListedCommand extends Command {
  readonly name: string;
  readonly summary: string;
}

/** Identity, for type inference of each command's options in its `run`. */
export function defineCommand<const T extends OptionSpecs>(command: Command<T>): Command<T> {
  return command;
}
