/**
 * The `oci` command: global options, then a command name, then that command's line.
 * Errors become one line on stderr (`oci: pull busybox: …`) and a non-zero status;
 * stack traces only with --debug.
 */
import { loadedAddon } from '@oci/native';
import { parse, positionalIndex, UsageError } from './args.js';
import { type Command, type Context, globalOptions, type ListedCommand } from './command.js';
import { loadCommand } from './commands/index.js';
import { createLogger, type LogOptions } from './log.js';
import { print } from './print.js';

const USAGE_STATUS = 2;

export async function main(argv: readonly string[]): Promise<number> {
  // The log file first, before anything can fail: engines read it after every call, a usage
  // error's included (runc opens it before it parses its command line).
  const early = earlyLogOptions(argv);
  let log = createLogger(early);
  let name: string | undefined;
  let subject: string | undefined;
  let debug = argv.includes('--debug');
  try {
    const at = positionalIndex(argv, globalOptions, 1);
    const globals = parse(at < 0 ? argv : argv.slice(0, at), globalOptions).options;
    if (globals.version) {
      print((await import('./version.js')).versionText());
      return 0;
    }
    if (at < 0 || argv[at] === 'help') {
      const topic = at < 0 ? undefined : argv[at + 1];
      const help = await import('./help.js');
      print(topic ? help.commandHelp(await loadCommand(topic)) : help.generalHelp());
      return 0;
    }
    const command = await loadCommand(argv[at]!);
    name = command.name;
    const { options, positionals, rest } = parseCommandLine(command, argv.slice(at + 1));
    if (options.help) {
      print((await import('./help.js')).commandHelp(command));
      return 0;
    }
    subject = positionals[0];
    const merged = { ...globals, ...pickGlobals(options, command) };
    debug = merged.debug ?? false;
    if (merged.log !== early.file || merged['log-format'] !== early.format || debug !== early.debug)
      log = createLogger({ file: merged.log, format: merged['log-format'], debug });
    // Getters: creating process.stdout loads Node's stream modules (milliseconds), which
    // commands that print nothing (create, start, kill, delete) need not pay.
    const context: Context = {
      globals: merged,
      get stdout() {
        return process.stdout;
      },
      get stderr() {
        return process.stderr;
      },
      log,
    };
    return (await command.run({ options, positionals, rest }, context)) ?? 0;
  } catch (error) {
    return report(error, { name, subject, debug, log });
  }
}

/**
 * For the executable (bin/oci.cjs), whose process this is, not for main(): once the event loop
 * has drained, every 'exit' listener runs, then the last one ends the process with _exit(2),
 * skipping Node's teardown (joining its threads, freeing its heap), which cost every command
 * ~4 ms here (an `oci pull` of a present image: 104 ms, then 100). Only where the addon is
 * loaded already: loading it would cost as much. Added again at each 'beforeExit' so that it
 * stays the last 'exit' listener.
 */
export function endWithoutTeardown(): void {
  process.on('beforeExit', () => {
    process.removeListener('exit', exitNow);
    process.on('exit', exitNow);
  });
}

function exitNow(status: number): void {
  if (!writesAtTeardown()) loadedAddon()?.exitNow(status);
}

/** Coverage and profiles are written in Node's teardown: a process that asked for them keeps it. */
function writesAtTeardown(): boolean {
  const options = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return process.env.NODE_V8_COVERAGE !== undefined || options.some((option) => /^--(cpu|heap)-prof/.test(option));
}

function parseCommandLine(command: ListedCommand, argv: readonly string[]) {
  // The command's own options first: its short names win over the global ones (run's -v).
  const options = { ...command.options, ...Object.fromEntries(Object.entries(globalOptions).filter(([name]) => !Object.hasOwn(command.options, name))) };
  const restAt = command.restAfter ? positionalIndex(argv, options, command.restAfter) + 1 : 0;
  const own = restAt > 0 ? argv.slice(0, restAt) : argv;
  const parsed = parse(own, options, command.name);
  if (parsed.options.help) return { ...parsed, rest: [] };
  const count = parsed.positionals.length;
  const { min, max } = command.positionals;
  if (count < min) throw new UsageError(`needs ${min === max ? min : `at least ${min}`} argument${min === 1 ? '' : 's'}, got ${count}`, command.name);
  if (count > max) throw new UsageError(`takes at most ${max} argument${max === 1 ? '' : 's'}, got ${count}`, command.name);
  return { ...parsed, rest: restAt > 0 ? argv.slice(restAt) : [] };
}

/** Global options given after the command name, except where the command has its own of that name. */
function pickGlobals(options: Record<string, unknown>, command: Command) {
  return Object.fromEntries(
    Object.keys(globalOptions)
      .filter((k) => options[k] !== undefined && !Object.hasOwn(command.options, k))
      .map((k) => [k, options[k]]),
  );
}

interface Failure {
  name?: string;
  subject?: string;
  debug: boolean;
  log: ReturnType<typeof createLogger>;
}

/**
 * --log, --log-format and --debug among the global options, read leniently (a mistake elsewhere
 * on the line must still reach the log file). The full parse checks them later.
 */
function earlyLogOptions(argv: readonly string[]): LogOptions {
  const at = positionalIndex(argv, globalOptions, 1);
  const globals = at < 0 ? argv : argv.slice(0, at);
  const options: LogOptions = { debug: false };
  for (let i = 0; i < globals.length; i++) {
    const [flag, inline] = globals[i]!.split(/=(.*)/s) as [string, string | undefined];
    if (flag === '--debug') options.debug = true;
    if (flag !== '--log' && flag !== '--log-format') continue;
    const value = inline ?? globals[++i];
    if (flag === '--log') options.file = value;
    else options.format = value;
  }
  return options;
}

function report(error: unknown, { name, subject, debug, log }: Failure): number {
  // By its code: a command's bundle has its own copy of the class.
  if (error instanceof Error && (error as UsageError).code === 'EUSAGE') {
    const usage = error as UsageError;
    const where = usage.command ?? name;
    const message = `${where ? `${where}: ` : ''}${usage.message}`;
    log.failure(message, `${message} (see 'oci ${where ? `${where} ` : ''}--help')`);
    return USAGE_STATUS;
  }
  const message = error instanceof Error ? error.message : String(error);
  const line = [name, subject].filter(Boolean).join(' ');
  log.failure(message, `${line ? `${line}: ` : ''}${message}`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  const status = (error as { exitStatus?: unknown }).exitStatus;
  return typeof status === 'number' && status > 0 ? status : 1;
}
