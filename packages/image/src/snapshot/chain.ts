/**
 * Chain IDs (image-spec config.md, "Layer ChainID"): the identity of a stack of layers, not of
 * one layer. ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 * Two images that share their first n layers share the first n chain IDs, and so the snapshots
 * of those layers, applied once.
 */
import { digestOf } from '../digest.js';

/** The chain ID of every prefix of `diffIds`, bottom layer first. */
export function chainIds(diffIds: readonly string[]): string[] {
  const ids: string[] = [];
  for (const diffId of diffIds) ids.push(ids.length === 0 ? diffId : digestOf(`${ids[ids.length - 1]} ${diffId}`));
  return ids;
}
