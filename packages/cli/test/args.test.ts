import test from 'ava';
import { formatOptions, type OptionSpecs, parse, positionalIndex, UsageError } from '../src/args.js';
import { globalOptions } from '../src/command.js';

const options = {
  bundle: { type: 'string', short: 'b', describe: '' },
  detach: { type: 'boolean', short: 'd', describe: '' },
  env: { type: 'string', short: 'e', multiple: true, describe: '' },
  'preserve-fds': { type: 'number', describe: '' },
} as const satisfies OptionSpecs;

test('finds the n-th positional, skipping option values', (t) => {
  t.is(positionalIndex(['--bundle', '/b', 'create', 'x'], options, 1), 2);
  t.is(positionalIndex(['--unknown', 'create', 'x'], options, 1), 1);
  t.is(positionalIndex(['--bundle', 'b', '-d', 'id', 'sh', '-c', 'true'], options, 1), 3);
  t.is(positionalIndex(['--bundle=b', 'id', 'sh'], options, 2), 2);
  t.is(positionalIndex(['-b', 'b'], options, 1), -1);
  t.is(positionalIndex(['-d', '--', '-x'], options, 1), 2);
});

test('parses strings, booleans, repeated and numeric options in both spellings', (t) => {
  const { options: values, positionals } = parse(['--bundle=/b', '-d', '-e', 'A=1', '--env', 'B=2', '--preserve-fds', '3', 'id'], options);
  t.deepEqual(values, { bundle: '/b', detach: true, env: ['A=1', 'B=2'], 'preserve-fds': 3 });
  t.deepEqual(positionals, ['id']);
});

test('a non-integer for a numeric option is a usage error', (t) => {
  const error = t.throws(() => parse(['--preserve-fds', 'x'], options), { instanceOf: UsageError });
  t.is(error?.message, "--preserve-fds needs an integer (got 'x')");
});

test('a negative number is the value of the option before it, as runc takes `--memory -1`', (t) => {
  t.deepEqual(parse(['--preserve-fds', '-1', '--bundle', '-2x', 'id'], options).options, { 'preserve-fds': -1, bundle: '-2x' });
  t.deepEqual(parse(['-d', '--', '--bundle', '-1'], options).positionals, ['--bundle', '-1']);
});

test('one-letter options together, and a value written into a one-letter option', (t) => {
  t.deepEqual(parse(['-db/b', '-e', 'A=1', '-eB=2', '-', 'id'], options), {
    options: { detach: true, bundle: '/b', env: ['A=1', 'B=2'] },
    positionals: ['-', 'id'],
    rest: [],
  });
});

test('mistakes are usage errors naming the option', (t) => {
  const message = (argv: string[]) => t.throws(() => parse(argv, options), { instanceOf: UsageError })?.message;
  t.is(message(['--bogus']), "unknown option '--bogus'");
  t.is(message(['--bogus=1']), "unknown option '--bogus'");
  t.is(message(['-dx']), "unknown option '-x'");
  t.is(message(['--detach=yes']), "option '--detach' takes no value");
  t.is(message(['-b']), "option '--bundle' needs a value");
  t.is(message(['--bundle', '--detach']), "option '--bundle' needs a value");
});

test("runc's global --rootless, as engines pass it, is another spelling of --rootless-runtime", (t) => {
  for (const argv of [['--rootless=true'], ['--rootless', 'true'], ['--rootless-runtime', 'true']]) {
    t.deepEqual(parse(argv, globalOptions).options, { 'rootless-runtime': 'true' }, argv.join(' '));
  }
  t.throws(() => parse(['--rootless=maybe'], globalOptions), { message: "--rootless must be one of true, false, auto (got 'maybe')" });
  t.false(
    formatOptions(globalOptions).some((line) => /--rootless /.test(line)),
    'the old spelling is not listed',
  );
});
