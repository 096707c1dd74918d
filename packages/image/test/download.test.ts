import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import test from 'ava';
import { ImageError } from '../src/errors.js';
import { startDownload } from '../src/registry/download.js';

/** A server that answers every connection with `answer`: the raw bytes, written in the pieces given. */
async function rawServer(answer: (socket: Socket) => void | Promise<void>): Promise<{ url: URL; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((socket) => {
    let request = '';
    socket.on('data', (chunk) => {
      request += chunk.toString('latin1');
      if (!request.includes('\r\n\r\n')) return;
      requests.push(request);
      void answer(socket);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: new URL(`http://127.0.0.1:${port}/v2/x/blobs/sha256:0`), requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Writes `pieces` one by one, each in its own TCP segment as far as a pause makes it. */
async function writeInPieces(socket: Socket, pieces: (string | Buffer)[], end = true): Promise<void> {
  for (const piece of pieces) {
    socket.write(piece);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (end) socket.end();
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function download(url: URL) {
  const exchange = await startDownload({ method: 'GET', url, headers: { authorization: 'Bearer t' } });
  const response = await exchange.response;
  const received: Buffer[] = [];
  await response.body.consume((chunk) => received.push(Buffer.from(chunk)));
  return { status: response.status, headers: response.headers, body: Buffer.concat(received) };
}

const blob = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));

test('a Content-Length body comes whole, its head split across reads; the request names the host and asks to close', async (t) => {
  const server = await rawServer((socket) =>
    writeInPieces(
      socket,
      ['HTTP/1.1 200 OK\r\nContent-Le', `ngth: ${blob.length}\r\nX-A: 1\r\nX-A: 2\r`, '\n\r\n', blob.subarray(0, 1000), blob.subarray(1000)],
      false,
    ),
  );
  try {
    const { status, headers, body } = await download(server.url);
    t.is(status, 200);
    t.is(headers['x-a'], '1, 2');
    t.is(sha256(body), sha256(blob));
    t.regex(server.requests[0]!, /^GET \/v2\/x\/blobs\/sha256:0 HTTP\/1\.1\r\nhost: 127\.0\.0\.1:\d+\r\nconnection: close\r\nauthorization: Bearer t\r\n\r\n$/);
  } finally {
    await server.close();
  }
});

test('a chunked body, with chunk extensions and trailers, its CRLFs split across reads', async (t) => {
  const first = blob.subarray(0, 100_000);
  const second = blob.subarray(100_000);
  const server = await rawServer((socket) =>
    writeInPieces(socket, [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
      `${first.length.toString(16)};ext=1\r`,
      '\n',
      first,
      '\r',
      `\n${second.length.toString(16)}\r\n`,
      second,
      '\r\n0\r\nX-Trailer: y\r\n',
      '\r\n',
    ]),
  );
  try {
    t.is(sha256((await download(server.url)).body), sha256(blob));
  } finally {
    await server.close();
  }
});

test('a body without length ends with the connection; an interim 103 answer is passed over', async (t) => {
  const server = await rawServer((socket) => writeInPieces(socket, ['HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n', blob]));
  try {
    const { status, body } = await download(server.url);
    t.is(status, 200);
    t.is(sha256(body), sha256(blob));
  } finally {
    await server.close();
  }
});

test('a connection closed before the end of the body fails with ECONNRESET (a download resumes after that)', async (t) => {
  const server = await rawServer((socket) => writeInPieces(socket, [`HTTP/1.1 200 OK\r\nContent-Length: ${blob.length}\r\n\r\n`, blob.subarray(0, 5000)]));
  try {
    const error = await t.throwsAsync(download(server.url));
    t.is((error as NodeJS.ErrnoException).code, 'ECONNRESET');
  } finally {
    await server.close();
  }
});

test('an answer HTTP/1.1 does not allow is EREGISTRY, naming what was wrong', async (t) => {
  for (const [head, why] of [
    ['HTTP/1.1 2000 OK\r\n\r\n', /a status line of "HTTP\/1\.1 2000 OK"/],
    ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', /two different Content-Lengths/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /a chunk size of "zz"/],
    ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', /a Transfer-Encoding of gzip/],
  ] as const) {
    const server = await rawServer((socket) => writeInPieces(socket, [head], false));
    try {
      const error = await t.throwsAsync(download(server.url), { instanceOf: ImageError });
      t.is((error as ImageError).code, 'EREGISTRY');
      t.regex(error!.message, why);
    } finally {
      await server.close();
    }
  }
});

test('a body read as text, or whose bytes came before its reader, loses nothing', async (t) => {
  const json = JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] });
  const server = await rawServer((socket) => writeInPieces(socket, [`HTTP/1.1 404 Not Found\r\nContent-Length: ${json.length}\r\n\r\n${json}`]));
  try {
    const response = await (await startDownload({ method: 'GET', url: server.url, headers: {} })).response;
    await new Promise((resolve) => setTimeout(resolve, 50)); // the whole answer is in before anyone reads it
    t.is(response.status, 404);
    t.deepEqual(await response.body.json(), JSON.parse(json));
  } finally {
    await server.close();
  }
});

test('a header value that would split the request is refused before anything is sent', async (t) => {
  const server = await rawServer(() => {});
  try {
    await t.throwsAsync(startDownload({ method: 'GET', url: server.url, headers: { authorization: 'Bearer x\r\nX-Evil: 1' } }), {
      instanceOf: ImageError,
      message: /a request header that HTTP cannot carry: "authorization"/,
    });
    t.deepEqual(server.requests, []);
  } finally {
    await server.close();
  }
});
