/**
 * Asking the user on the terminal (oci login): a line as typed, or a secret without echo. Only
 * when stdin is a terminal: a script passes --password-stdin instead.
 */
import { StringDecoder } from 'node:string_decoder';
import { isatty } from 'node:tty';

const ENTER = new Set(['\n', '\r']);
const BACKSPACE = new Set(['\b', '\x7f']);
const INTERRUPT = '\x03';
const END_OF_FILE = '\x04';

export const canPrompt = () => isatty(0);

/** What was typed past the end of the last answer (typed ahead, or pasted with the next one). */
let typedAhead = '';

/** Writes `question` to stderr and reads a line; the characters typed are not shown when `secret`. */
export function prompt(question: string, { secret = false } = {}): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let typed = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    /** Takes the characters; true once the answer is complete. */
    const take = (text: string): boolean => {
      const chars = Array.from(text);
      for (const [at, char] of chars.entries()) {
        if (ENTER.has(char)) {
          typedAhead = chars
            .slice(at + 1)
            .join('')
            .replace(/^\n/, '');
          finish();
          return true;
        }
        if (char === INTERRUPT || char === END_OF_FILE) {
          finish(new Error('interrupted'));
          return true;
        }
        if (BACKSPACE.has(char)) {
          if (typed.length > 0 && !secret) process.stderr.write('\b \b');
          typed = Array.from(typed).slice(0, -1).join('');
        } else {
          typed += char;
          if (!secret) process.stderr.write(char);
        }
      }
      return false;
    };
    const onData = (chunk: Buffer) => void take(decoder.write(chunk));
    const ahead = typedAhead;
    typedAhead = '';
    if (take(ahead)) return;
    stdin.on('data', onData);
    stdin.resume();
  });
}

/** All of stdin, less one trailing newline (`echo secret | oci login --password-stdin`, as docker reads it). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}
