/**
 * Errors of the image library. `code` is stable (tools match on it); `message` is one line
 * a user can act on, without the subject (the CLI prefixes `oci: pull busybox:`).
 */
export type ImageErrorCode =
  | 'EREFERENCE' // a malformed image reference
  | 'EDIGEST' // a malformed digest, or content that does not match its digest or size
  | 'ENOTFOUND' // a reference, manifest or blob that is not there
  | 'EMEDIATYPE' // a media type this library does not handle
  | 'EMANIFEST' // a manifest, index or config that is not what the spec says
  | 'ESTORE' // the content store is not a usable OCI image layout
  | 'EPLATFORM' // no manifest for the asked platform
  | 'EREGISTRY' // the registry answered with an error
  | 'EAUTH' // the registry refused the credentials
  | 'ENETWORK' // the registry could not be reached
  | 'ETIMEOUT' // the registry kept a step waiting longer than the timeout (registry/deadline.ts)
  | 'ELAYER' // a layer that cannot be applied (corrupt, hostile, or unsupported)
  | 'EIMPORT' // an archive that cannot be read as an image archive (docker-archive, oci-archive) or a filesystem tar
  | 'ENOIMAGE' // an archive that holds no image: no manifest.json, no OCI layout (a filesystem, as `docker export` writes)
  | 'EABORTED'; // the caller's AbortSignal fired (the error's name is then 'AbortError'; abort.ts)

export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ImageError';
  }
}

const STORE_ERRNO: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

/** A file system failure while writing the store, as one line (`no space left on device in DIR`); other errors pass. */
export function storeError(error: unknown, dir: string): unknown {
  const why = STORE_ERRNO[(error as NodeJS.ErrnoException | undefined)?.code ?? ''];
  return why && !(error instanceof ImageError) ? new ImageError('ESTORE', `${why} in ${dir}`, { cause: error }) : error;
}
