/**
 * Pausing a container: every process in its cgroup stopped by the kernel's freezer, and
 * resumed. v1 has a freezer controller (freezer.state: THAWED, FREEZING, FROZEN); v2 has
 * cgroup.freeze in every non-root cgroup, with cgroup.events saying when the freeze is complete.
 * A hybrid host freezes through v1 where the freezer controller is mounted there, as runc does.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { RuntimeError } from '../errors.js';

/** The cgroup directory whose freezer pauses the container, kept in its state. */
export interface FreezerRecord {
  version: 1 | 2;
  dir: string;
}

/** The freezer for a container's cgroup dirs: v1's if mounted, else v2's cgroup.freeze. */
export function freezerFor(v1FreezerDir: string | undefined, unifiedDir: string | undefined): FreezerRecord | undefined {
  if (v1FreezerDir) return { version: 1, dir: v1FreezerDir };
  // The root cgroup and kernels before 5.2 have no cgroup.freeze.
  if (unifiedDir && existsSync(path.join(unifiedDir, 'cgroup.freeze'))) return { version: 2, dir: unifiedDir };
  return undefined;
}

/**
 * Whether the container's cgroup was asked to freeze (by pause, not by an ancestor): a freeze
 * under way counts, so that a status read during `pause` already says paused.
 */
export function isFrozen(freezer: FreezerRecord | undefined): boolean {
  if (!freezer) return false;
  const file = freezer.version === 1 ? 'freezer.self_freezing' : 'cgroup.freeze';
  try {
    return readFileSync(path.join(freezer.dir, file), 'utf8').trim() === '1';
  } catch (error) {
    // The cgroup is gone with its container: nothing is frozen.
    if (goneCgroup(error)) return false;
    throw error;
  }
}

/** Freezes every process in the cgroup and returns once all are frozen; on failure leaves it thawed. */
export async function freeze(freezer: FreezerRecord): Promise<void> {
  try {
    if (freezer.version === 1) await freezeV1(freezer.dir);
    else await freezeV2(freezer.dir);
  } catch (error) {
    // Half frozen is the worst state to leave a container in.
    try {
      thaw(freezer);
    } catch {
      // the error that matters is the first one
    }
    throw error;
  }
}

export function thaw(freezer: FreezerRecord): void {
  if (freezer.version === 1) writeControl(freezer.dir, 'freezer.state', 'THAWED');
  else writeControl(freezer.dir, 'cgroup.freeze', '0');
}

/**
 * v1 can stay FREEZING while processes keep forking into the cgroup; asking again, with a
 * thaw now and then, gets it through (the retries runc found to work on real kernels).
 */
async function freezeV1(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    if (attempt % 50 === 49) {
      writeControl(dir, 'freezer.state', 'THAWED');
      await setTimeout(10);
    }
    writeControl(dir, 'freezer.state', 'FROZEN');
    if (attempt % 25 === 24) await setTimeout(1);
    const state = readFileSync(path.join(dir, 'freezer.state'), 'utf8').trim();
    if (state === 'FROZEN') return;
    if (state !== 'FREEZING') throw new RuntimeError('ESTATE', `freeze ${dir}: unexpected freezer.state ${state}`);
  }
  throw new RuntimeError('ESTATE', `freeze ${dir}: its processes stay FREEZING`);
}

/** v2 freezes asynchronously: cgroup.events reads "frozen 1" once every process is. */
async function freezeV2(dir: string): Promise<void> {
  writeControl(dir, 'cgroup.freeze', '1');
  const events = path.join(dir, 'cgroup.events');
  for (let delay = 1, waited = 0; waited < 10_000; waited += delay, delay = Math.min(delay * 2, 20)) {
    if (/^frozen 1$/m.test(readFileSync(events, 'utf8'))) return;
    await setTimeout(delay);
  }
  throw new RuntimeError('ESTATE', `freeze ${dir}: not frozen after 10 s`);
}

function writeControl(dir: string, file: string, value: string): void {
  try {
    writeFileSync(path.join(dir, file), value, { flag: 'r+' });
  } catch (error) {
    throw new RuntimeError('ESTATE', `cgroup: write ${value} to ${path.join(dir, file)}: ${(error as NodeJS.ErrnoException).code}`, { cause: error });
  }
}

/**
 * Whether a cgroup file could not be read because its cgroup is gone: ENOENT, or ENODEV when it
 * went between the file's open and its read (kernfs refuses a removed node's files). A `kill`
 * or `delete` racing the container's own teardown (`oci run` removes it as soon as it ends) sees either.
 */
export function goneCgroup(error: unknown): boolean {
  const { code } = error as NodeJS.ErrnoException;
  return code === 'ENOENT' || code === 'ENODEV';
}
