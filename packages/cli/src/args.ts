/**
 * The command line's grammar: options declared once per command, read as node:util's parseArgs
 * reads them (strict, positionals allowed). yargs was the first choice but costs 20-50 ms to
 * load on these machines, and parseArgs itself ~1 ms at a cold start (its modules and their
 * checks); engines call `oci state`/`oci create` on their hot path, so parsing must cost nothing.
 */

export interface OptionSpec {
  readonly type: 'string' | 'boolean' | 'number';
  readonly describe: string;
  readonly short?: string;
  readonly multiple?: boolean;
  readonly choices?: readonly string[];
  /** Placeholder shown in help, e.g. DIR. */
  readonly value?: string;
  /** Accepted for runc compatibility, not listed in help. */
  readonly hidden?: boolean;
  /** Another spelling of the option of this name (hidden): its value lands there. */
  readonly aliasOf?: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type Scalar<O extends OptionSpec> = O['type'] extends 'boolean' ? boolean : O['type'] extends 'number' ? number : string;
export type OptionValues<T extends OptionSpecs> = {
  -readonly [K in keyof T]?: T[K]['multiple'] extends true ? Scalar<T[K]>[] : Scalar<T[K]>;
};

export interface ParsedArgs<T extends OptionSpecs> {
  readonly options: OptionValues<T>;
  readonly positionals: string[];
  /** Everything after the command's last positional when the command takes a trailing command line. */
  readonly rest: string[];
}

/** A mistake in how the command was typed: printed as one line, exit status 2. */
export class UsageError extends Error {
  readonly code = 'EUSAGE';
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/**
 * Index in argv of the n-th positional (1-based), or -1. Global options end at the command
 * name, and the command line of `exec ID sh -c …` must not be mistaken for options.
 */
export function positionalIndex(argv: readonly string[], options: OptionSpecs, n: number): number {
  let seen = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return n - seen <= argv.length - i - 1 ? i + n - seen : -1;
    if (arg.length > 1 && arg.startsWith('-')) {
      if (!arg.includes('=') && takesValue(arg, options)) i++;
    } else if (++seen === n) {
      return i;
    }
  }
  return -1;
}

function takesValue(arg: string, options: OptionSpecs): boolean {
  const spec = arg.startsWith('--') ? options[arg.slice(2)] : Object.values(options).find((o) => o.short === arg.at(-1));
  return spec !== undefined && spec.type !== 'boolean';
}

export function parse<T extends OptionSpecs>(argv: readonly string[], options: T, command?: string): ParsedArgs<T> {
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const set = (name: string, raw: string | boolean) => {
    const spec = options[name]!;
    const value = convert(name, spec, raw, command);
    const key = spec.aliasOf ?? name;
    values[key] = spec.multiple ? [...((values[key] as unknown[] | undefined) ?? []), value] : value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.length < 2 || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    for (const [name, inline] of optionsIn(arg, options, command)) {
      if (options[name]!.type === 'boolean') {
        if (inline !== undefined) throw new UsageError(`option '--${name}' takes no value`, command);
        set(name, true);
      } else if (inline !== undefined) {
        set(name, inline);
      } else if (isValue(argv[i + 1])) {
        set(name, argv[++i]!);
      } else {
        throw new UsageError(`option '--${name}' needs a value`, command);
      }
    }
  }
  return { options: values as OptionValues<T>, positionals, rest: [] };
}

/**
 * The options one argument names, each with the value written into it: `--name`,
 * `--name=value`, `-x`, `-xVALUE`, or one-letter booleans together (`-dt`).
 */
function optionsIn(arg: string, options: OptionSpecs, command?: string): [name: string, inline?: string][] {
  if (arg.startsWith('--')) {
    const at = arg.indexOf('=');
    const name = at < 0 ? arg.slice(2) : arg.slice(2, at);
    if (!Object.hasOwn(options, name)) throw new UsageError(`unknown option '--${name}'`, command);
    return [at < 0 ? [name] : [name, arg.slice(at + 1)]];
  }
  const named: [name: string, inline?: string][] = [];
  for (let at = 1; at < arg.length; at++) {
    const name = Object.keys(options).find((key) => options[key]!.short === arg[at]);
    if (name === undefined) throw new UsageError(`unknown option '-${arg[at]}'`, command);
    const rest = arg.slice(at + 1);
    if (options[name]!.type !== 'boolean' && rest !== '') return [...named, [name, rest]];
    named.push([name]);
  }
  return named;
}

/**
 * Whether the argument after an option that needs a value is that value: not when it is an
 * option itself, but a negative number is, as runc takes `--memory -1`.
 */
function isValue(next: string | undefined): next is string {
  return next !== undefined && (!next.startsWith('-') || next === '-' || /^-\d/.test(next));
}

function convert(name: string, spec: OptionSpec, raw: string | boolean, command?: string): unknown {
  if (typeof raw === 'boolean') return raw;
  if (spec.choices && !spec.choices.includes(raw)) {
    throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')} (got '${raw}')`, command);
  }
  if (spec.type !== 'number') return raw;
  const number = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(number)) throw new UsageError(`--${name} needs an integer (got '${raw}')`, command);
  return number;
}

export function formatOptions(options: OptionSpecs): string[] {
  const rows = Object.entries(options)
    .filter(([, o]) => !o.hidden && !o.aliasOf)
    .map(([name, o]) => {
      const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'boolean' ? '' : ` ${o.value ?? name.toUpperCase()}`}`;
      const choices = o.choices ? ` (${o.choices.join('|')})` : '';
      return [flag, `${o.describe}${choices}`] as const;
    });
  const width = Math.max(0, ...rows.map(([flag]) => flag.length));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
}
