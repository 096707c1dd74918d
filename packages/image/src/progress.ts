/**
 * What pull, push, copy, save and load report as they go, for a progress display (`oci pull`
 * draws a bar per layer on a terminal, or prints these as JSON lines with `--format json`).
 */
export type ProgressEvent =
  /** The reference resolved to this manifest (the platform's, when the reference named an index). */
  | { type: 'resolved'; reference: string; digest: string; mediaType: string; platform?: string }
  /** A blob is needed: `present` when the store (pull) or the registry (push) has it already. */
  | { type: 'blob'; digest: string; size: number; role: 'config' | 'layer'; present: boolean }
  /** Bytes of a blob moved so far (of `size`). */
  | { type: 'bytes'; digest: string; size: number; done: number }
  /** A blob arrived whole and checked (pull), or the registry took it (push; `mounted` from another repository). */
  | { type: 'blob-done'; digest: string; mounted?: boolean }
  /** A broken-off transfer goes on from `offset`. */
  | { type: 'resume'; digest: string; offset: number }
  /** Bytes of an archive read (load), of `size` when it is known (not from a pipe). */
  | { type: 'read'; what: string; done: number; size?: number }
  /** The image is stored (pull, copy, load), pushed (push) or written (copy, save) under `name`. */
  | { type: 'done'; name: string; digest: string };

export type ProgressListener = (event: ProgressEvent) => void;
