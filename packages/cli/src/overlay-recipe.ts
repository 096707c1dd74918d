/**
 * Recipes: what the `oci` front door (packages/native/src/front-door/unpack.c) needs to make an
 * overlay bundle of an image without Node. Once an image's snapshots are there, such a bundle
 * costs a few stats, a record and config.json (~5 ms), and Node's own start ten times that; so
 * `oci unpack --overlay REF BUNDLE` leaves, beside the bundle it made, the recipe of the next one
 * in snapshots/recipes/NAME (NAME: REF as encodeURIComponent writes it), two parts:
 *
 *   {"index":HEX,"code":HEX,"chains":[…],"lower":[…],"volumes":[…],"bundleAt":[N,N]}\n
 *   config.json as written, less the bundle directory at the byte offsets bundleAt (in its
 *   overlay mount's upperdir= and workdir=)
 *
 * The front door follows a recipe only while index.json is still the one REF was resolved from
 * (`index`: the sha256 of its bytes, read before the store resolved REF) and the code that wrote
 * it is the code that would run (`code`: the sha256 of this command's bundle file), for root,
 * with no option but --overlay; it then does what makeOverlayBundle (@oci/bundle) does: the
 * bundle lock, the user record, the snapshots checked, the writable layer, the volumes and
 * config.json. Anything else it hands to Node, before changing anything, and Node writes a
 * recipe again. A recipe is derived, never authoritative: gc clears them all.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type OverlayBundleResult, volumeDirs } from '@oci/bundle';
import { digestOf } from '@oci/image/internal/digest';
import { chainIds } from '@oci/image/internal/snapshot/chain';
import { SnapshotLayout } from '@oci/image/internal/snapshot/layout';

/** A recipe's name is a file name (255 bytes at most), with room for the writer's temp suffix. */
const MAX_NAME = 200;

/** The recipe file for `ref`; undefined for a REF the front door would not look up (see unpack.c: recipe_name). */
function recipeFile(layout: SnapshotLayout, ref: string): string | undefined {
  if (!/^[\x21-\x7e]+$/.test(ref) || ref.startsWith('.')) return undefined;
  const name = encodeURIComponent(ref);
  return name.length <= MAX_NAME ? path.join(layout.recipes, name) : undefined;
}

/** index.json's bytes as they are before the store resolves REF (undefined: no index, no recipe). */
export function readIndex(storeDir: string): Buffer | undefined {
  try {
    return readFileSync(path.join(storeDir, 'index.json'));
  } catch {
    return undefined;
  }
}

/** Writes the recipe of the overlay bundle just made in `dir` from `ref`, replacing the one there. */
export function writeRecipe(storeDir: string, ref: string, index: Buffer, dir: string, made: OverlayBundleResult): void {
  const layout = new SnapshotLayout(storeDir);
  const file = recipeFile(layout, ref);
  if (!file || layout.unprivileged) return;
  const config = readFileSync(path.join(dir, 'config.json'));
  // Where config.json names the bundle directory: in upperdir= and workdir=, each exactly once
  // and in this order, or no recipe (an image's own strings could hold the same text).
  const escaped = JSON.stringify(dir).slice(1, -1);
  const cut = Buffer.byteLength(escaped);
  const [upper, work] = ['upper', 'work'].map((name) => {
    const quoted = `"${name}dir=${escaped}/${name}"`;
    const found = config.indexOf(quoted);
    return found >= 0 && config.indexOf(quoted, found + 1) < 0 ? found + `"${name}dir=`.length : -1;
  }) as [number, number];
  if (upper < 0 || work < upper) return;
  const lowerdir = made.spec.mounts?.[0]?.options?.find((option) => option.startsWith('lowerdir='));
  if (!lowerdir) return;
  const header = {
    index: hex(index),
    code: hex(readFileSync(fileURLToPath(import.meta.url))),
    chains: chainIds(made.image.config.rootfs.diff_ids),
    lower: lowerdir.slice('lowerdir='.length).split(':'),
    volumes: volumeDirs(dir, made.spec).map((volume) => path.relative(dir, volume)),
    bundleAt: [upper, work - cut],
  };
  const text = Buffer.concat([
    Buffer.from(`${JSON.stringify(header)}\n`),
    config.subarray(0, upper),
    config.subarray(upper + cut, work),
    config.subarray(work + cut),
  ]);
  mkdirSync(layout.recipes, { recursive: true });
  const temp = `${file}.${process.pid}`;
  writeFileSync(temp, text);
  renameSync(temp, file);
}

/** The sha256 of `data` in hex, as recipes name what they were made from (and run.c and unpack.c check). */
export const hex = (data: Uint8Array) => digestOf(data).slice('sha256:'.length);
