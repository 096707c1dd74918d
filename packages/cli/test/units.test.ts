import test from 'ava';
import { parseBytes, parseDuration } from '../src/units.js';

test('sizes as docker and runc read them: binary multiples, optional i and B', (t) => {
  t.is(parseBytes('1024'), 1024);
  t.is(parseBytes('64m'), 64 << 20);
  t.is(parseBytes('64MB'), 64 << 20);
  t.is(parseBytes('1.5GiB'), 1.5 * 2 ** 30);
  t.is(parseBytes('2 k'), 2048);
  for (const bad of ['', 'm', '-1', '12x', '1e3', '1..2m']) t.is(parseBytes(bad), undefined, bad);
});

test('Go durations in milliseconds', (t) => {
  t.is(parseDuration('5s'), 5000);
  t.is(parseDuration('100ms'), 100);
  t.is(parseDuration('1m30s'), 90_000);
  t.is(parseDuration('1.5h'), 5_400_000);
  t.is(parseDuration('0'), 0);
  for (const bad of ['', '5', 's', '5x', '-1s', '1s2']) t.is(parseDuration(bad), undefined, bad);
});
