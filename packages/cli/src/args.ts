/**
 * The command line's grammar: options declared once per command, parsed with node:util's
 * parseArgs. yargs was the first choice but costs 20-50 ms to load on these machines, and
 * engines call `oci state`/`oci create` on their hot path, so parsing must cost nothing.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

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
  constructor(message: string, readonly command?: string) {
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
  let parsed;
  try {
    parsed = parseArgs({
      args: negativeValuesJoined(argv, options),
      strict: true,
      allowPositionals: true,
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [
          name,
          { type: o.type === 'boolean' ? 'boolean' : 'string', ...(o.short && { short: o.short }), multiple: o.multiple === true },
        ]),
      ) as NonNullable<ParseArgsConfig['options']>,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) throw error;
    throw new UsageError(describeParseError(error as Error & { code: string }), command);
  }
  const values: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(parsed.values)) {
    const spec = options[name]!;
    values[name] = Array.isArray(raw) ? raw.map((v) => convert(name, spec, v, command)) : convert(name, spec, raw!, command);
  }
  return { options: values as OptionValues<T>, positionals: parsed.positionals, rest: [] };
}

/**
 * `--memory-swap -1` as `--memory-swap=-1`: parseArgs takes a value starting with '-' for an
 * option, which runc's command line accepts for its numbers.
 */
function negativeValuesJoined(argv: readonly string[], options: OptionSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return [...out, ...argv.slice(i)];
    const spec = arg.startsWith('--') && !arg.includes('=') ? options[arg.slice(2)] : undefined;
    const next = argv[i + 1];
    if (spec && spec.type !== 'boolean' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
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

// parseArgs' messages run to several sentences; keep the first, in our words.
function describeParseError(error: Error & { code: string }): string {
  const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? '';
  const option = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${option}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return error.message.includes('argument missing') ? `option '${option}' needs a value` : `option '${option}' takes no value`;
    default:
      return error.message.split('. ')[0]!;
  }
}

export function formatOptions(options: OptionSpecs): string[] {
  const rows = Object.entries(options)
    .filter(([, o]) => !o.hidden)
    .map(([name, o]) => {
      const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'boolean' ? '' : ` ${o.value ?? name.toUpperCase()}`}`;
      const choices = o.choices ? ` (${o.choices.join('|')})` : '';
      return [flag, `${o.describe}${choices}`] as const;
    });
  const width = Math.max(0, ...rows.map(([flag]) => flag.length));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
}
