/**
 * What `timeout` bounds: the wait of one step of a pull or push for progress. A step is one
 * exchange with the registry as a caller sees it: a manifest or index fetched (with the
 * ping, token and redirects it needs), one blob downloaded (with its resumes) or uploaded
 * (existence check, session, bytes). Every request the step makes, and every retry of it, waits
 * on the step's one deadline, so retries never stretch the wait past `timeout`:
 *
 * - an `answer` deadline (manifests, tokens, pings, every small request): the step must be
 *   complete, its body read whole, within `timeout` of its start; a body trickled in a byte at
 *   a time does not keep it alive;
 * - a `data` deadline (blob bytes, either way): the step fails when no byte of the blob moved
 *   for `timeout`; each byte restarts it, so a big blob may take as long as it needs.
 *
 * Moving on from a mirror that timed out to the next endpoint restarts the deadline: each
 * endpoint gets `timeout`. A timeout of 0 waits for ever.
 */
export type DeadlineKind = 'answer' | 'data';

export class Deadline {
  #at: number;

  constructor(
    /** Milliseconds; 0 for no limit. */
    readonly timeout: number,
    readonly kind: DeadlineKind = 'answer',
  ) {
    this.#at = this.#fromNow();
  }

  /** Progress (or a fresh endpoint): the step may wait `timeout` again from now. */
  restart(): void {
    this.#at = this.#fromNow();
  }

  /** Milliseconds left; 0 or less once it has passed, Infinity with no limit. */
  get remaining(): number {
    return this.#at - Date.now();
  }

  /** The timeout as people read it: `2 s`, `0.5 s`. */
  toString(): string {
    return `${this.timeout / 1000} s`;
  }

  #fromNow(): number {
    return this.timeout > 0 ? Date.now() + this.timeout : Infinity;
  }
}
