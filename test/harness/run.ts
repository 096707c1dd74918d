/**
 * Runs peer programs (engines, their clients) from tests without blocking the event loop, so
 * that tests in one file can run side by side, and with a deadline so that a hung engine fails
 * its test instead of the whole run.
 */
import { type SpawnOptions, spawn } from 'node:child_process';

export interface Outcome {
  /** Exit status, or null when killed by a signal. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed; stdin is /dev/null without it. */
  input?: string;
  /** Milliseconds before the program is killed (SIGKILL) and the promise rejects. Default 60 s. */
  timeout?: number;
}

export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<Outcome> {
  const { env, cwd, input, timeout = 60_000 } = options;
  const spawnOptions: SpawnOptions = { env, cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] };
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, spawnOptions);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')}: no exit after ${timeout} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeout);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Like `run`, but throws with the program's stderr unless it exits 0. */
export async function runOk(command: string, args: readonly string[], options: RunOptions = {}): Promise<Outcome> {
  const outcome = await run(command, args, options);
  if (outcome.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${outcome.status ?? outcome.signal}: ${outcome.stderr.trim() || outcome.stdout.trim()}`);
  }
  return outcome;
}

/**
 * Runs the program with a pseudo-terminal as its stdin, stdout and stderr (through util-linux
 * `script`), for clients such as `ctr run -t` that put their own terminal into raw mode. Output
 * arrives as the terminal shows it (\r\n line ends); `script`'s exit status is the program's.
 */
export async function runInTerminal(command: string, args: readonly string[], options: RunOptions = {}): Promise<Outcome> {
  const line = [command, ...args].map(shellQuote).join(' ');
  const outcome = await run('script', ['--quiet', '--return', '--command', line, '/dev/null'], { input: '', ...options });
  // script echoes the end of its stdin as ^@ (or a NUL) at a moment that depends on timing.
  return { ...outcome, stdout: outcome.stdout.replaceAll('\0', '').replaceAll('^@', '') };
}

export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
