/**
 * A static file server on 127.0.0.1 (HTTP or HTTPS) that serves a directory tree the way real mirrors do (Range →
 * 206, ETag + If-None-Match → 304, HEAD, an autoindex-style listing for directories) and injects faults per path:
 * 404, 500, 429 with Retry-After, stalls, truncated bodies, Range ignored (200 instead of 206), redirect loops,
 * replaced bodies (decompression bombs, by-hash mismatches). Plus a guard that fails any connection to anything but
 * 127.0.0.1, installed by the release-store tests.
 * @module
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface Fault {
  status?: number;
  retryAfter?: number;
  /** Fail only the first `times` requests, then serve normally. */
  times?: number;
  /** Send headers and part of the body, then hang (never end). */
  stall?: boolean;
  /** Declare the full Content-Length but send only this many bytes, then close. */
  truncateAt?: number;
  /** Answer Range requests with 200 and the whole body. */
  ignoreRange?: boolean;
  /** 302 to itself (with a query that alternates). */
  redirectLoop?: boolean;
  /** Serve these bytes instead of the file. */
  body?: Uint8Array;
}

export interface FaultServer {
  url: string;
  port: number;
  requests: { method: string; path: string; range?: string; status: number; bytes: number }[];
  faults: Map<string, Fault>;
  close(): Promise<void>;
}

export async function startFaultServer(root: string, tls?: { key: string; cert: string }): Promise<FaultServer> {
  const faults = new Map<string, Fault>();
  const hits = new Map<string, number>();
  const requests: FaultServer['requests'] = [];
  const stalled = new Set<http.ServerResponse>();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(u.pathname);
    const rec = { method: req.method ?? 'GET', path, ...(req.headers.range ? { range: req.headers.range } : {}), status: 200, bytes: 0 };
    requests.push(rec);
    const send = (status: number, headers: Record<string, string | number>, body?: Uint8Array) => {
      rec.status = status;
      res.writeHead(status, headers);
      if (body && req.method !== 'HEAD') {
        rec.bytes = body.length;
        res.end(body);
      } else res.end();
    };
    const f = faults.get(path);
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    const active = f && (f.times === undefined || n <= f.times);
    if (active && f.redirectLoop) return send(302, { location: `${path}?loop=${n % 2}` });
    if (active && f.status) return send(f.status, { 'content-length': 0, ...(f.retryAfter !== undefined ? { 'retry-after': f.retryAfter } : {}) });
    const file = normalize(join(root, path));
    if (!file.startsWith(normalize(root))) return send(403, { 'content-length': 0 });
    let st;
    try {
      st = statSync(file);
    } catch {
      return send(404, { 'content-length': 0 });
    }
    if (st.isDirectory()) {
      if (!path.endsWith('/')) return send(301, { location: `${path}/` });
      const names = readdirSync(file).sort();
      const html = `<html><body><h1>Index of ${path}</h1><a href="../">../</a>\n${names.map((x) => `<a href="${encodeURIComponent(x)}${statSync(join(file, x)).isDirectory() ? '/' : ''}">${x}</a>`).join('\n')}</body></html>`;
      return send(200, { 'content-type': 'text/html' }, Buffer.from(html));
    }
    const range = req.headers.range?.match(/^bytes=(\d+)-(\d*)$/);
    if (range && !active) {
      // Read only the asked-for bytes (a real mirror does not read the whole file for a header range).
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), st.size - 1) : st.size - 1;
      if (start >= st.size) return send(416, { 'content-range': `bytes */${st.size}` });
      const part = Buffer.alloc(end - start + 1);
      const fd = openSync(file, 'r');
      try {
        readSync(fd, part, 0, part.length, start);
      } finally {
        closeSync(fd);
      }
      return send(
        206,
        {
          'content-range': `bytes ${start}-${end}/${st.size}`,
          'content-length': part.length,
          etag: `"${st.ino}-${st.size}-${st.mtimeMs}"`,
          'accept-ranges': 'bytes',
        },
        part,
      );
    }
    const body: Uint8Array = active && f.body ? f.body : readFileSync(file);
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    if (req.headers['if-none-match'] === etag) return send(304, { etag });
    if (active && f.stall) {
      rec.status = 200;
      res.writeHead(200, { 'content-length': body.length, etag });
      res.write(body.subarray(0, Math.min(16, body.length)));
      stalled.add(res);
      return;
    }
    if (active && f.truncateAt !== undefined) {
      rec.status = 200;
      res.writeHead(200, { 'content-length': body.length, etag });
      res.write(body.subarray(0, f.truncateAt));
      rec.bytes = f.truncateAt;
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if (range && !(active && f.ignoreRange)) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      if (start >= body.length) return send(416, { 'content-range': `bytes */${body.length}` });
      return send(
        206,
        { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1, etag, 'accept-ranges': 'bytes' },
        body.subarray(start, end + 1),
      );
    }
    return send(200, { 'content-length': body.length, etag, 'accept-ranges': 'bytes' }, body);
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    faults,
    close: async () => {
      for (const r of stalled) r.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * Fail any outgoing TCP connection to a host other than 127.0.0.1 (undici, node:http and node:tls all connect through
 * net.Socket.prototype.connect). Returns the list of refused targets and an uninstall function.
 */
export function installLoopbackGuard(): { violations: string[]; uninstall(): void } {
  const violations: string[] = [];
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guarded(this: net.Socket, ...args: any[]) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const host =
      typeof first === 'object' && first !== null
        ? first.path
          ? '127.0.0.1'
          : (first.host ?? 'localhost')
        : typeof args[1] === 'string'
          ? args[1]
          : 'localhost';
    if (host !== '127.0.0.1') {
      violations.push(String(host));
      throw new Error(`test guard: connection to ${host} refused (only 127.0.0.1 is allowed)`);
    }
    return (original as any).apply(this, args);
  } as typeof original;
  return {
    violations,
    uninstall: () => {
      net.Socket.prototype.connect = original;
    },
  };
}
