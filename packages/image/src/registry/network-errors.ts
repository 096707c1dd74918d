/** Errors of a request that got no answer: which are worth another attempt, and one line for each. */
import { ImageError } from '../errors.js';

const TRANSIENT = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

/** True for errors a later attempt may not meet: lost or refused connections (not a step's timeout: its time is up). */
export function isTransient(error: unknown): boolean {
  return TRANSIENT.has(errorCode(error) ?? '');
}

/** True when a TLS handshake failed because the far end does not speak TLS (a plain HTTP registry). */
export function isNotTls(error: unknown): boolean {
  const code = errorCode(error) ?? '';
  return code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || code === 'ECONNRESET';
}

/** The first code along the error's causes (Node wraps a socket's error in a fetch's, ours in ENETWORK). */
export function errorCode(error: unknown): string | undefined {
  let e = error as { code?: string; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 4; depth++, e = e.cause as typeof e) {
    if (typeof e.code === 'string' && e.code !== 'ENETWORK') return e.code;
  }
  return undefined;
}

/** One line for a request that got no answer. */
export function networkError(error: unknown, url: URL): ImageError {
  if (error instanceof ImageError) return error;
  const code = errorCode(error);
  const host = url.host;
  const why =
    code === 'ENOTFOUND' || code === 'EAI_AGAIN'
      ? `unknown host ${url.hostname}`
      : code === 'ECONNREFUSED'
        ? `connection refused by ${host}`
        : /^ERR_SSL|^ERR_TLS|CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)/.test(code ?? '')
          ? `TLS with ${host} failed: ${(error as Error).message} (trust its CA with --ca-cert)`
          : `cannot reach ${host}: ${(error as Error).message ?? String(error)}`;
  return new ImageError('ENETWORK', why, { cause: error });
}
