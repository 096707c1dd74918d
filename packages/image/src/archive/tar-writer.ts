/**
 * Writes the tar archives images travel in (`docker save`, `oci-archive`): directories and
 * regular files, owned by root, mode 0644/0755, mtime 0, as Docker and containers/image write
 * them. ustar headers, with a PAX record for what ustar cannot hold (a name over 100 bytes, a
 * sha512 blob's; a size from 8 GiB). A file's bytes stream through to the output as they come,
 * with its backpressure, and must add up to the size its header announced.
 *
 * Why not tar-stream (a dependency already): it brings streamx, b4a, fast-fifo and bare-fs into
 * every command that saves, for the two entry kinds an image archive needs.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { ImageError } from '../errors.js';

const BLOCK = 512;
/** ustar's size field: 11 octal digits. */
const MAX_USTAR_SIZE = 8 ** 11 - 1;

export class TarWriter {
  #failure: Error | undefined;

  constructor(private readonly output: Writable) {
    // Remembered, and thrown by the next write: an 'error' no one listens for would crash the process.
    output.on('error', (error) => (this.#failure ??= error));
  }

  async directory(name: string): Promise<void> {
    await this.#header(name.endsWith('/') ? name : `${name}/`, 0, '5');
  }

  async bytes(name: string, data: Buffer): Promise<void> {
    await this.file(name, data.length, [data]);
  }

  /** A file of `size` bytes whose content is `content`; anything but exactly `size` bytes is an error. */
  async file(name: string, size: number, content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
    await this.#header(name, size, '0');
    let written = 0;
    for await (const chunk of content) {
      written += chunk.byteLength;
      if (written > size) break;
      await this.#write(chunk);
    }
    if (written !== size) throw new ImageError('EDIGEST', `${name}: ${written > size ? 'more than' : `only ${written} of`} the ${size} bytes announced`);
    await this.#write(Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK));
  }

  /** The end-of-archive marker: two zero blocks. The caller ends the output. */
  async finish(): Promise<void> {
    await this.#write(Buffer.alloc(2 * BLOCK));
  }

  async #header(name: string, size: number, type: '0' | '5'): Promise<void> {
    const nameBytes = Buffer.from(name);
    const records: [string, string][] = [];
    if (nameBytes.length > 100) records.push(['path', name]);
    if (size > MAX_USTAR_SIZE) records.push(['size', String(size)]);
    if (records.length > 0) {
      const pax = Buffer.from(records.map(([key, value]) => paxRecord(key, value)).join(''));
      await this.#write(ustar(`PaxHeaders/${name.slice(-80)}`, pax.length, 'x'));
      await this.#write(pax);
      await this.#write(Buffer.alloc((BLOCK - (pax.length % BLOCK)) % BLOCK));
    }
    await this.#write(ustar(nameBytes.length > 100 ? name.slice(-100) : name, size > MAX_USTAR_SIZE ? 0 : size, type));
  }

  async #write(chunk: Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (chunk.byteLength === 0) return;
    if (!this.output.write(chunk)) await once(this.output, 'drain');
    if (this.#failure) throw this.#failure;
  }
}

function ustar(name: string, size: number, type: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  block.write(type === '5' ? '0000755\0' : '0000644\0', 100, 'latin1');
  block.write('0000000\0', 108, 'latin1'); // uid
  block.write('0000000\0', 116, 'latin1'); // gid
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  block.write('00000000000\0', 136, 'latin1'); // mtime
  block.write(type, 156, 'latin1');
  block.write('ustar\x0000', 257, 'latin1');
  // The checksum is computed with its own field as eight spaces.
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** `LENGTH key=value\n`, where LENGTH counts the whole record, its own digits included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let digits = String(bodyLength).length;
  if (String(bodyLength + digits).length > digits) digits++;
  return `${bodyLength + digits}${body}`;
}
