/** Values as runc's command line takes them: sizes like docker's (64m, 1.5GiB) and Go durations (5s, 100ms, 1m30s). */

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** Bytes from "1024", "64m", "64MB", "1.5GiB" (binary multiples, as docker's RAMInBytes); undefined if malformed. */
export function parseBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$/i.exec(text);
  if (!match) return undefined;
  return Math.floor(Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!);
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds from a Go duration ("5s", "100ms", "1m30s", "1.5h"); undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const parts = /^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h)/;
  let rest = text;
  let total = 0;
  while (rest !== '') {
    const match = parts.exec(rest);
    if (!match) return undefined;
    const [, number, unit] = /^([\d.]+)(.*)$/.exec(match[0])!;
    total += Number(number) * DURATION_UNITS[unit!]!;
    rest = rest.slice(match[0].length);
  }
  return text === '' ? undefined : total;
}
