/**
 * The helper's protocol has two sides, the runtime's (plan/ops.ts) and the helper's (plan.c):
 * these tests fail when one changes without the other, and show the helper refusing a plan of
 * another protocol or with arguments its signatures do not allow.
 */

import { closeSync, readFileSync } from 'node:fs';
import { helperPath, requireAddon } from '@oci/native';
import test from 'ava';
import { encodePlan, HELPER_PROTOCOL, OP_SIGNATURES, type Op } from '../src/plan/ops.js';
import { readMessages, writeAll } from '../src/socket.js';

const helperSource = (file: string) => readFileSync(new URL(`../../../native/src/helper/${file}`, import.meta.url), 'utf8');

test("plan.c's op table has the same ops with the same signatures as OP_SIGNATURES, and the same protocol number", (t) => {
  const table = Object.fromEntries([...helperSource('plan.c').matchAll(/\{"(\w+)", "([^"]*)", op_\w+\}/g)].map((m) => [m[1], m[2]]));
  t.deepEqual(table, { ...OP_SIGNATURES });
  t.is(Number(/#define HELPER_PROTOCOL (\d+)/.exec(helperSource('helper.h'))?.[1]), HELPER_PROTOCOL);
});

test('the wire format: length, then NAME, COUNT and arguments, each NUL-terminated, the protocol first', (t) => {
  const bytes = encodePlan([
    ['umask', 0o22],
    ['mount', 'proc', '/proc', 'proc', 0, ''],
    ['rlimit', 7, 0xffff_ffff_ffff_ffffn, 1n],
  ]);
  const body = `protocol\x001\x00${HELPER_PROTOCOL}\x00umask\x001\x0018\x00mount\x005\x00proc\x00/proc\x00proc\x000\x00\x00rlimit\x003\x007\x000xffffffffffffffff\x000x1\x00`;
  t.is(bytes.readUInt32LE(0), body.length);
  t.is(bytes.subarray(4).toString(), body);
  t.throws(() => encodePlan([['hostname', 'a\0b']]), { message: /NUL/ });
  t.throws(() => encodePlan([['umask', 1.5]]), { message: /op 'umask': 1.5 is not what its signature says \('u'\)/ });
  t.throws(() => encodePlan([['umask', -1]]), { message: /op 'umask': -1 is not what/ });
  t.throws(() => encodePlan([['mount', 'proc', '/proc', 'proc', 0]] as unknown as Op[]), { message: /op 'mount' takes 'sssus\|u', got 4 arguments/ });
  t.throws(() => encodePlan([['setsid', 'x']] as unknown as Op[]), { message: /op 'setsid' takes '', got 1 arguments/ });
});

/** What the built helper answers to a plan (its messages until it ends). */
async function helperAnswers(plan: Buffer): Promise<string[]> {
  const addon = requireAddon();
  const [ours, theirs] = addon.socketpair();
  addon.spawn(helperPath(), ['oci-helper', 'plan', '3'], [0, 1, 2, theirs]);
  closeSync(theirs);
  writeAll(ours, plan);
  const messages: string[] = [];
  for await (const message of readMessages(ours)) messages.push(message);
  return messages;
}

/** `plan` with its first op's protocol number replaced. */
function withProtocol(plan: Buffer, protocol: string): Buffer {
  const body = plan
    .subarray(4)
    .toString('latin1')
    .replace(/^protocol\x001\x00\d+\x00/, `protocol\u00001\u0000${protocol}\u0000`);
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.length);
  return Buffer.concat([header, Buffer.from(body, 'latin1')]);
}

test('the built helper refuses a plan of another protocol, one without the protocol first, and arguments its signatures do not allow', async (t) => {
  const plan = encodePlan([['umask', 0o22]]);
  t.deepEqual(await helperAnswers(plan), []);
  t.deepEqual(await helperAnswers(withProtocol(plan, String(HELPER_PROTOCOL + 1))), [
    `error plan: written in protocol ${HELPER_PROTOCOL + 1}, but this helper speaks ${HELPER_PROTOCOL}: rebuild them together`,
  ]);
  const raw = (body: string) => Buffer.concat([Buffer.from([body.length, 0, 0, 0]), Buffer.from(body)]);
  t.deepEqual(await helperAnswers(raw('umask\u00001\u000018\u0000')), ['error plan: the protocol op must come first, and only there']);
  t.deepEqual(await helperAnswers(raw(`protocol\u00001\u0000${HELPER_PROTOCOL}\u0000umask\u00001\u0000-1\u0000`)), ["error plan: bad number '-1'"]);
  t.deepEqual(await helperAnswers(raw(`protocol\u00001\u0000${HELPER_PROTOCOL}\u0000setsid\u00001\u0000x\u0000`)), [
    "error plan: op 'setsid' takes '', got 1 arguments",
  ]);
});
