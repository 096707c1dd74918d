/**
 * Log lines in runc's shapes, because engines read them: containerd's shim takes the last
 * `"level":"error"` line of `--log FILE --log-format json` as the reason a command failed.
 */
import { appendFileSync } from 'node:fs';

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
  const write = (level: Level, message: string): void => {
    if (level === 'debug' && !debug) return;
    if (!file) {
      process.stderr.write(`oci: ${level === 'error' ? '' : `${level}: `}${message}\n`);
      return;
    }
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
