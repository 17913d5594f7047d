/**
 * Small hostile HTTP servers on 127.0.0.1 for the network tests: each is a handler the test writes (a registry that
 * redirects, a realm that collects passwords, a server that drips one byte at a time, an S3 endpoint whose pagination
 * never ends), with every request recorded (method, path, headers) so a test can say what was sent where.
 * @module
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}

export interface HostileServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` */
  host: string;
  port: number;
  hits: Hit[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, hit: Hit) => unknown;

export async function startHostile(handler: Handler): Promise<HostileServer> {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const hit = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
    hits.push(hit);
    Promise.resolve(handler(req, res, hit)).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(e));
      else res.destroy();
    });
  });
  server.on('connection', (s) => s.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Send `headers`, then one byte of `body` every `everyMs` (forever when `body` is undefined), never faster. */
export function drip(res: ServerResponse, headers: Record<string, string | number>, everyMs: number, body?: Uint8Array): void {
  res.writeHead(200, headers);
  let i = 0;
  const t = setInterval(() => {
    if (res.destroyed || (body && i >= body.length)) {
      clearInterval(t);
      if (!res.destroyed) res.end();
      return;
    }
    res.write(body ? body.subarray(i, i + 1) : 'x');
    i++;
  }, everyMs);
  res.on('close', () => clearInterval(t));
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

/** The decoded `user:password` of a Basic Authorization header, if any. */
export function basicOf(h: Hit): string | undefined {
  const a = h.headers.authorization;
  return a?.startsWith('Basic ') ? Buffer.from(a.slice(6), 'base64').toString('utf8') : undefined;
}
