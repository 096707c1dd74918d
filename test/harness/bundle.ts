/**
 * Runtime bundles for tests: a busybox rootfs (the harness's busybox layer, extracted with tar,
 * a peer) and a config.json from the bundle package's defaultSpec(), adjusted per test.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultSpec } from '@oci/bundle/default-spec';
import type { Spec } from '@oci/specs';
import { busyboxLayer } from './busybox.js';
import { tempDir } from './tmp.js';

let layer: Promise<Buffer> | undefined;

export interface TestBundle {
  dir: string;
  rootfs: string;
  spec: Spec;
  /** Writes config.json from `spec` (after a test changed it). */
  save(): void;
  remove(): void;
}

/** Extracts the busybox rootfs into dir/rootfs. */
export async function busyboxRootfs(dir: string): Promise<string> {
  layer ??= busyboxLayer();
  const rootfs = path.join(dir, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  const result = spawnSync('tar', ['-x', '-C', rootfs], { input: await layer });
  if (result.status !== 0) throw new Error(`tar -x failed: ${result.stderr}`);
  return rootfs;
}

/**
 * A bundle running `args` (default: sh) without a terminal; `adjust` edits the spec before it
 * is written.
 */
export async function busyboxBundle(args: string[] = ['sh'], adjust: (spec: Spec) => void = () => {}): Promise<TestBundle> {
  const { dir, remove } = tempDir('bundle');
  const rootfs = await busyboxRootfs(dir);
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = args;
  adjust(spec);
  const bundle = { dir, rootfs, spec, save: () => writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2)), remove };
  bundle.save();
  return bundle;
}

/** A busybox bundle removed when the test ends. */
export async function testBundle(t: { teardown(fn: () => void): void }, args: string[], adjust?: (spec: Spec) => void): Promise<TestBundle> {
  const bundle = await busyboxBundle(args, adjust);
  t.teardown(bundle.remove);
  return bundle;
}

let counter = 0;
/** A container id no other test (or test process) uses. */
export const uniqueId = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;
