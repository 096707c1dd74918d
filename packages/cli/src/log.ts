/**
 * Log lines in runc's shapes, because engines read them: containerd's shim takes the last
 * `"level":"error"` line of `--log FILE --log-format json` as the reason a command failed, and
 * decodes every line of the file as `{"level","msg","time"}` (one line of another shape and it
 * reports "unable to retrieve OCI runtime error" instead). The file is created when the logger
 * is, as runc opens it before parsing its command line: it exists after every call. Without a
 * file, lines go to stderr: `oci: warning: …` as text, and with `--log-format json` as runc's
 * JSON lines there too.
 */
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { oneLine } from './one-line.js';

export type Level = 'debug' | 'info' | 'warning' | 'error';

export interface Logger {
  debug(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /**
   * The command's failure: to the log file when there is one (`message`, as engines read it) and
   * to stderr (`line`, which names the command), as text there when a file has the JSON.
   */
  failure(message: string, line: string): void;
}

export interface LogOptions {
  file?: string;
  format?: 'text' | 'json' | string;
  debug?: boolean;
}

export function createLogger({ file, format = 'text', debug = false }: LogOptions): Logger {
  const textLine = (level: Level, message: string) => `${oneLine(`oci: ${level === 'error' ? '' : `${level}: `}${message}`)}\n`;
  const toStderr = (level: Level, message: string) =>
    process.stderr.write(format === 'json' && !file ? `${jsonLine(level, message)}\n` : textLine(level, message));
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
    const line = format === 'json' ? jsonLine(level, message) : `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(message)}`;
    // Synchronous: the process may exit right after an error is logged.
    appendFileSync(file, `${line}\n`);
  };
  return {
    debug: (message) => write('debug', message),
    warn: (message) => write('warning', message),
    error: (message) => write('error', message),
    failure(message, line) {
      if (!file) return void toStderr('error', line);
      write('error', message);
      process.stderr.write(textLine('error', line));
    },
  };
}

function jsonLine(level: Level, message: string): string {
  return JSON.stringify({ level, msg: message, time: new Date().toISOString() });
}
