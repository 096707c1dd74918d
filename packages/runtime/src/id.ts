/** Container ids name directories under the state root, so only a safe alphabet passes (runc's). */
import { invalid } from './errors.js';

const ID = /^[\w+\-.]+$/;

export function validateId(id: string): void {
  if (!ID.test(id) || id === '.' || id === '..' || id.length > 1024) {
    throw invalid(`invalid container id ${JSON.stringify(id)}: use letters, digits and _ + - . only`);
  }
}
