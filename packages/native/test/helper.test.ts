/**
 * The helper's side of the plan protocol, driven directly: the wire format (written out here
 * independently of the runtime's encoder), and failures reported as "error <step>: <ERRNO>".
 */

import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import test from 'ava';
import { helperPath } from '../src/index.js';

/** The protocol this helper speaks (helper.h's HELPER_PROTOCOL): a plan opens with it. */
const PROTOCOL = ['protocol', '1'];

/** A plan: a 4-byte little-endian length, then `NAME\0COUNT\0ARGS…\0` per op, the protocol op first. */
function plan(...ops: string[][]): Buffer {
  return rawPlan(PROTOCOL, ...ops);
}

function rawPlan(...ops: string[][]): Buffer {
  const body = Buffer.from(ops.map(([name, ...args]) => [name, String(args.length), ...args].map((f) => `${f}\0`).join('')).join(''));
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.length);
  return Buffer.concat([header, body]);
}

/** Runs the helper on raw plan bytes; resolves with its messages and exit status. */
function runHelper(bytes: Buffer): Promise<{ messages: string[]; status: number | null }> {
  const child = spawn(helperPath(), ['plan', '3'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const sync = child.stdio[3] as Socket;
  let received = '';
  sync.on('data', (chunk) => (received += chunk));
  sync.on('error', () => {});
  sync.end(bytes);
  return new Promise((resolve) => child.once('close', (status) => resolve({ messages: received.split('\0').filter(Boolean), status })));
}

test('an empty plan does nothing and succeeds', async (t) => {
  t.deepEqual(await runHelper(plan()), { messages: [], status: 0 });
});

test('a failing op reports its step and errno name, then exits 1', async (t) => {
  t.deepEqual(await runHelper(plan(['cgroup', '/nonexistent/cgroup'])), { messages: ['error join cgroup /nonexistent/cgroup: ENOENT'], status: 1 });
  t.deepEqual(await runHelper(plan(['setns', '/nonexistent', '0'])), { messages: ['error join namespace /nonexistent: ENOENT'], status: 1 });
});

test('ops run in order and stop at the first failure', async (t) => {
  const result = await runHelper(plan(['umask', '022'], ['chdir', '/nonexistent-dir'], ['cgroup', '/never-reached']));
  t.deepEqual(result.messages, ['error chdir to cwd /nonexistent-dir: ENOENT']);
});

test('a malformed plan is refused with a plan error, never run', async (t) => {
  const cases: [Buffer, string][] = [
    [rawPlan(['umask', '022']), 'error plan: the protocol op must come first, and only there'],
    [plan(['frobnicate']), "error plan: unknown op 'frobnicate'"],
    [plan(['umask', '0x1z']), "error plan: bad number '0x1z'"],
    [plan(['umask']), "error plan: op 'umask' takes 'u', got 0 arguments"],
    [plan(['umask', '1', '2']), "error plan: op 'umask' takes 'u', got 2 arguments"],
    [plan(['umask', '022']).subarray(0, 20), 'error read plan: the runtime closed the socket early'],
    [plan(['exec', '1', 'x']), 'error plan: exec before find_program'],
  ];
  for (const [bytes, message] of cases) t.deepEqual(await runHelper(bytes), { messages: [message], status: 1 }, message);
});

test('a plan declaring more than 16 MiB is refused before it is read', async (t) => {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(64 << 20);
  t.deepEqual(await runHelper(header), { messages: ['error read plan: 67108864 bytes is too large'], status: 1 });
});
