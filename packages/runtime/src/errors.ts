/**
 * The runtime's errors: a stable `code` for programs, a one-line message for people. Messages
 * keep the words engines match on: "does not exist" and "container not running".
 */
export type RuntimeErrorCode =
  /** No container with that id. */
  | 'ENOTFOUND'
  /** A container with that id exists already. */
  | 'EEXIST'
  /** The container has stopped (kill, start). */
  | 'ENOTRUNNING'
  /** The operation does not fit the container's status (start twice, delete while running). */
  | 'ESTATE'
  /** config.json, an id, a signal or an option is invalid. */
  | 'EINVALID'
  /** A step of creating the container failed (the helper names it: "mount proc on /proc: EPERM"). */
  | 'ECREATE'
  /** The program could not be started. */
  | 'ESTART'
  /** A hook failed or timed out (create and start fail with it). */
  | 'EHOOK'
  /** Something runc does that this runtime does not (checkpoint and restore). */
  | 'EUNSUPPORTED';

export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const notFound = (id: string) => new RuntimeError('ENOTFOUND', `container ${id} does not exist`);
export const notRunning = () => new RuntimeError('ENOTRUNNING', 'container not running');
export const invalid = (message: string) => new RuntimeError('EINVALID', message);
