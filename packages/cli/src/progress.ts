/**
 * How `oci pull` and `oci push` show progress: on a terminal, a bar per blob (bytes, rate) on
 * stderr, drawn by cli-progress; with `--format json`, the library's events as JSON lines on
 * stdout (byte counts at most every 100 ms per blob); otherwise, and with `--quiet`, nothing.
 */
import { isatty } from 'node:tty';
import type { ProgressEvent, ProgressListener } from '@oci/image';
import type { Context } from './command.js';

export interface ProgressReporter {
  listener?: ProgressListener;
  /** Stops drawing; safe to call twice. */
  finish(): void;
}

interface Options {
  quiet?: boolean;
  format?: string;
}

const THROTTLE_MS = 100;

/** Touches context.stdout or context.stderr only to write to it (creating either stream costs milliseconds). */
export async function progressReporter({ quiet, format }: Options, context: Pick<Context, 'stdout' | 'stderr'>): Promise<ProgressReporter> {
  if (format === 'json') return jsonLines(context.stdout);
  if (quiet || !isatty(2)) return { finish() {} };
  return bars(context.stderr);
}

function jsonLines(stdout: NodeJS.WriteStream): ProgressReporter {
  const last = new Map<string, number>();
  return {
    listener(event: ProgressEvent) {
      if (event.type === 'bytes' && event.done < event.size) {
        const now = Date.now();
        if (now - (last.get(event.digest) ?? 0) < THROTTLE_MS) return;
        last.set(event.digest, now);
      }
      stdout.write(`${JSON.stringify(event)}\n`);
    },
    finish() {},
  };
}

async function bars(stderr: NodeJS.WriteStream): Promise<ProgressReporter> {
  const { MultiBar } = await import('cli-progress');
  const started = new Map<string, number>();
  const ended = new Map<string, number>();
  const multibar = new MultiBar({
    stream: stderr,
    hideCursor: true,
    clearOnComplete: false,
    barsize: 30,
    fps: 10,
    format: (options, params, payload: { id: string; note?: string }) => {
      const width = options.barsize ?? 30;
      const filled = Math.round(params.progress * width);
      const bar = `${'='.repeat(filled)}${' '.repeat(width - filled)}`;
      const seconds = ((ended.get(payload.id) ?? Date.now()) - (started.get(payload.id) ?? Date.now())) / 1000;
      const rate = seconds > 0 ? `${bytes(params.value / seconds)}/s` : '';
      const note = payload.note ?? `${bytes(params.value)} / ${bytes(params.total)}  ${rate}`;
      return `${payload.id} [${bar}] ${note}`;
    },
  });
  const rows = new Map<string, ReturnType<typeof multibar.create>>();
  let finished = false;
  return {
    listener(event: ProgressEvent) {
      if (event.type === 'blob') {
        const id = event.digest.slice(7, 19);
        started.set(id, Date.now());
        rows.set(event.digest, multibar.create(event.size, event.present ? event.size : 0, { id, ...(event.present && { note: 'already present' }) }));
      } else if (event.type === 'bytes') {
        rows.get(event.digest)?.update(event.done);
      } else if (event.type === 'blob-done') {
        ended.set(event.digest.slice(7, 19), Date.now());
        const row = rows.get(event.digest);
        row?.update(row.getTotal(), event.mounted ? { note: 'mounted' } : {});
      }
    },
    finish() {
      if (finished) return;
      finished = true;
      multibar.stop();
    },
  };
}

function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
