/** Signals as `kill` takes them: SIGTERM, TERM, term or 15. */
import { constants } from 'node:os';
import { invalid } from './errors.js';

const SIGNALS = constants.signals as Readonly<Record<string, number>>;

export function parseSignal(signal: string | number): number {
  if (typeof signal === 'number' || /^\d+$/.test(signal)) {
    const number = Number(signal);
    if (number >= 1 && number <= 64) return number;
    throw invalid(`unknown signal '${signal}'`);
  }
  const name = signal.toUpperCase();
  const number = SIGNALS[name.startsWith('SIG') ? name : `SIG${name}`];
  if (number === undefined) throw invalid(`unknown signal '${signal}'`);
  return number;
}

/** The signal no process can catch or ignore: what delete and a failed create end processes with. */
export const SIGKILL = SIGNALS.SIGKILL!;
