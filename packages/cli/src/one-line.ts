/**
 * What a message echoes from outside (an id, a path, a value from config.json) must not break
 * it into lines nor drive the terminal: control characters and the Unicode line separators
 * are written as escapes (\n, \t, \x1b, \u2028), so that an error stays the one line that
 * engines and people read.
 */
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`);
  });
}
