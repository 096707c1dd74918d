/**
 * Terminals from the other side, through Python (a peer: Node cannot receive an fd over a unix
 * socket, nor resize a terminal it does not own): a console socket that receives a pty master
 * as engines do, and a terminal of a chosen size that a command runs on and that is resized
 * while it runs; and a command run at a terminal as a user runs it (util-linux `script`).
 */
import { spawn, spawnSync } from 'node:child_process';

export interface AtTerminal {
  cwd?: string;
  /** Typed at the terminal. */
  input?: string;
  /** [rows, columns] of the terminal (`script` leaves it 0 by 0). */
  size?: readonly [number, number];
  /** ms before the command is killed. */
  timeout?: number;
}

/** Runs a command on a fresh pty (util-linux `script`), its controlling terminal, as a user at a terminal would. */
export function atTerminal(command: readonly string[], { cwd, input, size, timeout = 60_000 }: AtTerminal = {}): { status: number | null; output: string } {
  const quoted = command.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  const line = size ? `stty rows ${size[0]} cols ${size[1]}; exec ${quoted}` : quoted;
  const result = spawnSync('script', ['-qec', line, '/dev/null'], {
    cwd,
    input,
    encoding: 'utf8',
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    timeout,
    killSignal: 'SIGKILL',
  });
  // script echoes its stdin's end as ^@ (NUL) at a moment that depends on timing.
  return { status: result.status, output: result.stdout.replaceAll('\0', '').replaceAll('^@', '') };
}

/** What a console socket received: the message, how many fds, and what the master then read. */
export interface ReceivedConsole {
  name: string;
  fds: number;
  /** Everything the program wrote to its terminal, read through the master until it hung up. */
  output: string;
}

const RECEIVER = `
import json, os, socket, sys
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen(1)
print('listening', flush=True)
connection, _ = server.accept()
# As strict as go-runc and conmon: one message, one fd.
message, fds, flags, _ = socket.recv_fds(connection, 4096, 1)
output = b''
while fds and not flags & socket.MSG_CTRUNC:
    try:
        chunk = os.read(fds[0], 4096)
    except OSError:  # EIO: the last holder of the slave closed it
        break
    if not chunk:
        break
    output += chunk
print(json.dumps({'name': message.decode(), 'fds': len(fds), 'output': output.decode()}), flush=True)
`;

/** Listens on `socketPath`; resolves once listening, with the console it will receive. */
export async function consoleReceiver(socketPath: string): Promise<{ received: Promise<ReceivedConsole>; stop(): void }> {
  const child = spawn('python3', ['-c', RECEIVER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  const listening = new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.startsWith('listening\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the console receiver exited (${code}) before listening`)));
  });
  const received = new Promise<ReceivedConsole>((resolve, reject) => {
    child.once('close', (code) => {
      const line = stdout.split('\n')[1];
      if (code === 0 && line) resolve(JSON.parse(line) as ReceivedConsole);
      else reject(new Error(`the console receiver exited ${code}: ${stdout}`));
    });
  });
  await listening;
  return { received, stop: () => child.kill('SIGKILL') };
}

const RESIZER = `
import fcntl, json, os, pty, select, struct, subprocess, sys, termios, time
spec = json.loads(sys.argv[1])
master, slave = pty.openpty()
def resize(rows, columns):
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', rows, columns, 0, 0))
resize(*spec['initial'])
def controlling():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
child = subprocess.Popen(spec['command'], stdin=slave, stdout=slave, stderr=slave, preexec_fn=controlling)
os.close(slave)
output = b''
def read_until(text, seconds):
    global output
    deadline = time.time() + seconds
    while text.encode() not in output and time.time() < deadline:
        if select.select([master], [], [], 0.05)[0]:
            try:
                output += os.read(master, 4096)
            except OSError:
                return False
    return text.encode() in output
ok = read_until(spec['first'], 20)
if ok:
    resize(*spec['resized'])
    # The program prints its size for every line it reads: ask until the new size shows.
    for _ in range(100):
        os.write(master, b'\\n')
        if read_until(spec['afterResize'], 0.2):
            break
    os.write(master, b'\\x04')
    read_until('\\0', 2)
try:
    status = child.wait(timeout=20)
except subprocess.TimeoutExpired:
    child.kill()
    status = child.wait()
print(json.dumps({'status': status, 'output': output.decode(errors='replace')}))
`;

export interface ResizeRun {
  command: readonly string[];
  /** [rows, columns] of the terminal when the command starts. */
  initial: readonly [number, number];
  /** Seen in the output before the terminal is resized. */
  first: string;
  resized: readonly [number, number];
  /** Seen in the output after the resize (new lines are sent until it shows). */
  afterResize: string;
}

/**
 * Runs `command` on a new terminal (its controlling one) of the initial size, waits for `first`,
 * resizes the terminal, sends lines until `afterResize` shows, then sends end-of-file.
 */
export function runWithResize(run: ResizeRun): Promise<{ status: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', RESIZER, JSON.stringify(run)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.once('close', (code) =>
      code === 0 ? resolve(JSON.parse(stdout) as { status: number; output: string }) : reject(new Error(`the resizer exited ${code}: ${stdout}`)),
    );
  });
}
