/**
 * Log lines in runc's shapes, because engines read them: containerd's shim takes the last
 * `"level":"error"` line of `--log FILE --log-format json` as the reason a command failed, and
 * decodes every line of the file as `{"level","msg","time"}` (one line of another shape and it
 * reports "unable to retrieve OCI runtime error" instead). The file is created when the logger
 * is, as runc opens it before parsing its command line: it exists after every call.
 */
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { oneLine } from './one-line.js';

export type Level = 'debug' | 'info' | 'warning' | 'error';

export interface Logger {
  debug(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** True when lines go to a file rather than to the terminal. */
  readonly toFile: boolean;
}

export interface LogOptions {
  file?: string;
  format?: 'text' | 'json' | string;
  debug?: boolean;
}

export function createLogger({ file, format = 'text', debug = false }: LogOptions): Logger {
  const toStderr = (level: Level, message: string) => process.stderr.write(`${oneLine(`oci: ${level === 'error' ? '' : `${level}: `}${message}`)}\n`);
  if (file) {
    try {
      closeSync(openSync(file, 'a', 0o644));
    } catch (error) {
      toStderr('warning', `cannot open the log file ${file}: ${(error as NodeJS.ErrnoException).code}; logging to stderr`);
      file = undefined;
    }
  }
  const write = (level: Level, message: string): void => {
    if (level === 'debug' && !debug) return;
    if (!file) return void toStderr(level, message);
    const time = new Date().toISOString();
    const line =
      format === 'json'
        ? JSON.stringify({ level, msg: message, time })
        : `time="${time}" level=${level} msg=${JSON.stringify(message)}`;
    // Synchronous: the process may exit right after an error is logged.
    appendFileSync(file, `${line}\n`);
  };
  return {
    debug: (message) => write('debug', message),
    warn: (message) => write('warning', message),
    error: (message) => write('error', message),
    toFile: file !== undefined,
  };
}
