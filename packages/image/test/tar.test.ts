/**
 * The tar reader keeps nothing of a chunk after feed() returns (the ISA-L inflater lends the
 * same buffers again): a PAX record cut across two chunks is read whole though the first chunk
 * was overwritten in between.
 */
import test from 'ava';
import { TarReader, type TarHeader } from '../src/layer/tar.js';

function block(name: string, flag: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write(flag, 156);
  header.write('ustar\x0000', 257, 'latin1');
  header.write('        ', 148);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

test('a PAX record cut across chunks is read whole, though the chunk before was reused', (t) => {
  const name = `${'long-directory-name/'.repeat(8)}file`;
  const record = (key: string, value: string) => {
    const body = ` ${key}=${value}\n`;
    let length = body.length;
    while (`${length}`.length + body.length !== length) length = `${length}`.length + body.length;
    return `${length}${body}`;
  };
  const pax = Buffer.from(record('path', name) + record('mtime', '1700000000.5'));
  const archive = Buffer.concat([block('PaxHeader', 'x', pax.length), padded(pax), block('short', '0', 3), padded(Buffer.from('abc')), Buffer.alloc(1024)]);
  const headers: TarHeader[] = [];
  const reader = new TarReader({ entry: (header) => headers.push(header), data: () => {}, end: () => {} });
  const cut = 512 + 40; // inside the PAX record
  const chunk = Buffer.alloc(cut);
  archive.copy(chunk, 0, 0, cut);
  reader.feed(chunk);
  chunk.fill(0xff); // the buffer goes back to the inflater and is written over
  reader.feed(archive.subarray(cut));
  reader.finish();
  t.is(headers.length, 1);
  t.is(headers[0]!.path, name);
  t.is(headers[0]!.mtime, 1700000000.5);
});
