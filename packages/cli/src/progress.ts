/**
 * How the commands that move images (pull, push, copy, save, load, import, unpack) show
 * progress: on a terminal, a bar per blob or layer (bytes, rate) and one for an archive being
 * read, on stderr, drawn by cli-progress; with `--format json`, the library's events as JSON
 * lines on stdout (byte counts at most every 100 ms per blob); otherwise (piped), and with
 * `--quiet`, nothing.
 */
import { fstatSync } from 'node:fs';
import path from 'node:path';
import type { ProgressEvent, ProgressListener, UnpackProgress } from '@oci/image';
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
  if (quiet || !(await isTerminal(2))) return { finish() {} };
  return bars(context.stderr);
}

/**
 * Runs `work` with progress shown as `options` say (see progressReporter), and stops showing it
 * once `work` is done or has failed: what the command prints next stands below the bars.
 */
export async function withProgress<T>(
  options: Options,
  context: Pick<Context, 'stdout' | 'stderr'>,
  work: (listener: ProgressListener | undefined) => Promise<T>,
): Promise<T> {
  const progress = await progressReporter(options, context);
  try {
    return await work(progress.listener);
  } finally {
    progress.finish();
  }
}

/**
 * True when `fd` is a terminal. node:tty costs ~6 ms to load (it loads node:net), which a
 * command writing into a pipe or a file need not pay: neither is a character device.
 */
export async function isTerminal(fd: number): Promise<boolean> {
  try {
    if (!fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false; // closed
  }
  return (await import('node:tty')).isatty(fd);
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
    format: (options, params, payload: { id: string; note?: string; unsized?: boolean }) => {
      const width = options.barsize ?? 30;
      const filled = payload.unsized ? 0 : Math.round(params.progress * width);
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
        const id = shortId(event.digest);
        started.set(id, Date.now());
        rows.set(event.digest, multibar.create(event.size, event.present ? event.size : 0, { id, ...(event.present && { note: 'already present' }) }));
      } else if (event.type === 'bytes') {
        rows.get(event.digest)?.update(event.done);
      } else if (event.type === 'blob-done') {
        ended.set(shortId(event.digest), Date.now());
        const row = rows.get(event.digest);
        row?.update(row.getTotal(), event.mounted ? { note: 'mounted' } : {});
      } else if (event.type === 'read') {
        // An archive from a pipe has no size: its bytes read so far, and no bar to fill.
        let row = rows.get(`read:${event.what}`);
        if (!row) {
          started.set(event.what, Date.now());
          row = multibar.create(event.size ?? 0, 0, { id: path.basename(event.what), unsized: event.size === undefined });
          rows.set(`read:${event.what}`, row);
        }
        row.update(event.done, event.size === undefined ? { note: `${bytes(event.done)} read` } : {});
      }
    },
    finish() {
      if (finished) return;
      finished = true;
      if (rows.size > 0) multibar.stop(); // (which draws, even with no bar to stop)
    },
  };
}

/** A layer's progress from the unpacker as the events the bars draw: a row per layer, its stored bytes. */
export function unpackListener(listener: ProgressListener | undefined): ((progress: UnpackProgress) => void) | undefined {
  if (!listener) return undefined;
  const seen = new Set<number>();
  return ({ layer, layers, digest, bytes: done, size, done: finished }) => {
    const id = digest ?? `layer ${layer}/${layers}`;
    if (!seen.has(layer)) {
      seen.add(layer);
      listener({ type: 'blob', digest: id, size: size ?? 0, role: 'layer', present: false });
    }
    listener(finished ? { type: 'blob-done', digest: id } : { type: 'bytes', digest: id, size: size ?? 0, done });
  };
}

/** What a row is called: a digest's first 12 hex digits, else the name it was given. */
function shortId(digest: string): string {
  return /^sha(256|512):/.test(digest) ? digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13) : digest;
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
