/** Container ids name directories under the state root, so only a safe alphabet passes (runc's). */
import { invalid } from './errors.js';

const ID = /^[\w+\-.]+$/;

export function validateId(id: string): void {
  if (!ID.test(id) || id === '.' || id === '..' || id.length > 1024) {
    throw invalid(`invalid container id ${JSON.stringify(id)}: use letters, digits and _ + - . only`);
  }
}

/** A fresh container id. Not node:crypto (~1 ms to load): a taken id fails with 'already exists'. */
export function generatedId(): string {
  return `oci-${Date.now().toString(36)}${Math.random().toString(16).slice(2, 8)}`;
}
