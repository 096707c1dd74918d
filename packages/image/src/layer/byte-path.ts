/**
 * An image names files with bytes, not text: tar and Linux allow any byte but NUL and "/" in a
 * name, and one that is not UTF-8 must reach the filesystem as it is (decoded, its bytes would
 * become U+FFFD, and two names could become one file). The applier holds such paths as strings
 * of one char per byte (latin1), which string operations ("/", ".", "..", ".wh.") handle as
 * they do text, and gives fs and the addon their bytes back as Buffers.
 */

/** A path as bytes, one char per byte. */
export type BytePath = string;

/** The bytes of an archive name, or of a path given as text (UTF-8). */
export function bytePath(name: Buffer | string): BytePath {
  return (typeof name === 'string' ? Buffer.from(name) : name).toString('latin1');
}

/** The path's bytes, always as a Buffer (for an answer in bytes too: the addon's resolveInRoot). */
export function pathBytes(path: BytePath): Buffer {
  return Buffer.from(path, 'latin1');
}

const NOT_ASCII = /[^\x00-\x7f]/;

/**
 * The path for fs and the addon: its bytes, as a Buffer; or, when they are ASCII (nearly
 * always), as the string itself, whose UTF-8 is the same bytes: a Buffer per call cost an
 * unpack of 30k entries a quarter more CPU time.
 */
export function fsPath(path: BytePath): string | Buffer {
  return NOT_ASCII.test(path) ? pathBytes(path) : path;
}

/** The path as text, for messages. */
export function showPath(path: BytePath): string {
  return Buffer.from(path, 'latin1').toString();
}
