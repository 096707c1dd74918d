/**
 * A small HTTP proxy in front of the real registry that injects the faults a real registry
 * cannot produce on demand: error statuses, requests never answered, connections cut or stalled
 * mid-body, bodies trickled a byte at a time, corrupted, truncated, replaced or padded without
 * end. Each fault matches requests by method and path and applies `times` times (default:
 * always); requests that match none pass through untouched.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listen } from './token-server.js';

export type FaultAction =
  /** Answer with this status (and body) without asking the registry. */
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Accept the request and never answer it (the connection stays open and silent). */
  | { hang: true }
  /** Send the first `cut` bytes of the body, then drop the connection. */
  | { cut: number }
  /** Send the headers and the first `stall` bytes of the body, then nothing more (until the client gives up). */
  | { stall: number }
  /** Send the headers (with these changed), then the body one byte every `trickle` ms. */
  | { trickle: number; headers?: Record<string, string> }
  /** Send the body without a Content-Length, followed by spaces without end (JSON stays valid). */
  | { endless: true }
  /** Flip one bit of the body at byte `at`. */
  | { corrupt: number }
  /** Send only the first `truncate` bytes, as a complete response of that length. */
  | { truncate: number }
  /** Send this body instead, with a matching Content-Length and these headers changed. */
  | { replace: Buffer | string; headers?: Record<string, string> };

export interface Fault {
  method?: string;
  /** Matched against the request path (e.g. /\/blobs\/sha256:/). */
  path: RegExp;
  times?: number;
  action: FaultAction;
}

export interface FaultProxy {
  /** host:port of the proxy, for image references. */
  readonly host: string;
  readonly url: string;
  readonly faults: Fault[];
  /** Every request seen: method, path, Range header. */
  readonly requests: { method: string; path: string; range?: string }[];
  stop(): Promise<void>;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const faults: Fault[] = [];
  const requests: FaultProxy['requests'] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push({ method: req.method ?? 'GET', path, ...(req.headers.range && { range: req.headers.range }) });
    const fault = faults.find((f) => (f.method ?? req.method) === req.method && f.path.test(path) && (f.times ?? Infinity) > 0);
    if (fault && fault.times !== undefined) fault.times--;
    const action = fault?.action;
    if (action && 'status' in action) {
      req.resume();
      res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers }).end(action.body ?? '');
      return;
    }
    if (action && 'hang' in action) {
      req.resume();
      return;
    }
    forward(req, res, target, action);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server);
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    faults,
    requests,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function forward(req: IncomingMessage, res: ServerResponse, target: URL, action: FaultAction | undefined): void {
  const headers = { ...req.headers, host: target.host };
  const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
    const outHeaders = { ...answer.headers };
    // Redirects from the registry point at itself: keep the client talking to the proxy.
    if (typeof outHeaders.location === 'string') outHeaders.location = outHeaders.location.replace(target.origin, `http://${req.headers.host}`);
    if (!action || answer.statusCode! >= 300) {
      res.writeHead(answer.statusCode!, outHeaders);
      answer.pipe(res);
      return;
    }
    if ('replace' in action) {
      answer.resume();
      const body = Buffer.from(action.replace);
      res.writeHead(answer.statusCode!, { ...outHeaders, ...action.headers, 'content-length': String(body.length) }).end(body);
      return;
    }
    if ('trickle' in action) {
      res.writeHead(answer.statusCode!, { ...outHeaders, ...action.headers }).flushHeaders();
      trickle(answer, res, action.trickle);
      return;
    }
    if ('endless' in action) {
      delete outHeaders['content-length'];
      res.writeHead(answer.statusCode!, outHeaders);
      answer.pipe(res, { end: false });
      answer.on('end', () => padWithoutEnd(res));
      return;
    }
    if ('truncate' in action) outHeaders['content-length'] = String(Math.min(action.truncate, Number(outHeaders['content-length'] ?? Infinity)));
    res.writeHead(answer.statusCode!, outHeaders).flushHeaders();
    const limit = 'cut' in action ? action.cut : 'stall' in action ? action.stall : 'truncate' in action ? action.truncate : Infinity;
    let sent = 0;
    answer.on('data', (chunk: Buffer) => {
      const start = sent;
      sent += chunk.length;
      if ('corrupt' in action) {
        if (action.corrupt >= start && action.corrupt < sent) {
          chunk = Buffer.from(chunk);
          chunk[action.corrupt - start]! ^= 0x01;
        }
        res.write(chunk);
        return;
      }
      if (start < limit) res.write(chunk.subarray(0, limit - start));
      if (sent >= limit) {
        answer.destroy();
        if ('cut' in action) res.destroy();
        if ('truncate' in action) res.end();
        // stall: leave the response open and silent.
      }
    });
    answer.on('end', () => res.end());
  });
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}

/** Writes the whole of `answer` into `res` one byte every `interval` ms, then ends it. */
function trickle(answer: IncomingMessage, res: ServerResponse, interval: number): void {
  const chunks: Buffer[] = [];
  answer.on('data', (chunk: Buffer) => chunks.push(chunk));
  answer.on('end', () => {
    const body = Buffer.concat(chunks);
    let sent = 0;
    const timer = setInterval(() => {
      res.write(body.subarray(sent, ++sent));
      if (sent < body.length) return;
      clearInterval(timer);
      res.end();
    }, interval);
    res.on('close', () => clearInterval(timer));
  });
}

/** Spaces for as long as the client reads them (the proxy's sockets close when it stops). */
function padWithoutEnd(res: ServerResponse): void {
  const spaces = Buffer.alloc(64 << 10, ' ');
  const write = () => {
    while (!res.destroyed && res.write(spaces));
  };
  res.on('drain', write);
  write();
}
