/** Errors of the bundle library: a stable `code` and a one-line message (the CLI adds the subject). */
export type BundleErrorCode =
  | 'EUSER' // the image's user or group cannot be resolved inside its rootfs
  | 'ECONFIG' // the image config cannot become a runtime config (no command, bad values)
  | 'EBUNDLE'; // the bundle directory is not usable (exists, not empty…)

export class BundleError extends Error {
  constructor(
    readonly code: BundleErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'BundleError';
  }
}
