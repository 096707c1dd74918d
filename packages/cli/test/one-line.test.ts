import test from 'ava';
import { oneLine } from '../src/one-line.js';

test('control characters and line separators are escaped; other text, backslashes and non-ASCII included, is kept', (t) => {
  t.is(oneLine('a\nb\r\tc'), 'a\\nb\\r\\tc');
  t.is(oneLine('\x1b[31mred\x00\x7f\x85'), '\\x1b[31mred\\x00\\x7f\\x85');
  t.is(oneLine('x\u2028y\u2029z'), 'x\\u2028y\\u2029z');
  t.is(oneLine('plain C:\\dir é 雪 🙂'), 'plain C:\\dir é 雪 🙂');
});
