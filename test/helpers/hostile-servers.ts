/**
 * Small hostile HTTP servers on 127.0.0.1 for the network tests: each is a handler the test writes (a registry that
 * redirects, a realm that collects passwords, a server that drips one byte at a time, an S3 endpoint whose pagination
 * never ends), with every request recorded (method, path, headers) so a test can say what was sent where.
 * @module
 */
import { createHash } from 'node:crypto';
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

/** Send `headers`, then a body that never ends, as fast as the client takes it (`onChunk` counts what was sent). */
export function endless(res: ServerResponse, headers: Record<string, string | number>, fill: number, onChunk?: (bytes: number) => void): void {
  res.writeHead(200, headers);
  const chunk = Buffer.alloc(64 * 1024, fill);
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) onChunk?.(chunk.length);
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
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

/**
 * A small OCI registry in memory (distribution-spec v1.1 read side: manifests by tag or digest, blobs with Range, tag
 * lists, the catalog; no referrers API, so clients use the tag schema), whose answers a test can replace per request
 * with `intercept` — the registry a hostile operator runs.
 */
export interface MemoryRegistry extends HostileServer {
  blobs: Map<string, Uint8Array>;
  /** `repo` → reference (tag or digest) → manifest. */
  manifests: Map<string, Map<string, { bytes: Uint8Array; mediaType: string }>>;
  /** Put a blob; returns its descriptor. */
  blob(
    bytes: Uint8Array | string,
    mediaType: string,
    annotations?: Record<string, string>,
  ): { mediaType: string; digest: string; size: number; annotations?: Record<string, string> };
  /** Put a manifest under its digest (and `tag`); returns its descriptor and bytes. */
  manifest(repo: string, doc: object | string, tag?: string): { mediaType: string; digest: string; size: number; bytes: Uint8Array };
  /** Answer a request first: return true when it was handled. */
  intercept?: (req: IncomingMessage, res: ServerResponse, hit: Hit) => boolean | Promise<boolean>;
}

export async function startMemoryRegistry(): Promise<MemoryRegistry> {
  const blobs = new Map<string, Uint8Array>();
  const manifests = new Map<string, Map<string, { bytes: Uint8Array; mediaType: string }>>();
  let reg: MemoryRegistry | undefined = undefined;
  const digestOf = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const server = await startHostile(async (req, res, hit) => {
    if (reg?.intercept && (await reg.intercept(req, res, hit))) return;
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/v2/' || u.pathname === '/v2') return json(res, 200, {});
    if (u.pathname === '/v2/_catalog') return json(res, 200, { repositories: [...manifests.keys()].sort() });
    const m = u.pathname.match(/^\/v2\/(.+)\/(manifests|blobs|tags)\/(.+)$/);
    if (!m) return json(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
    const [, repo, kind, ref] = m;
    if (kind === 'tags') return json(res, 200, { name: repo, tags: [...(manifests.get(repo)?.keys() ?? [])].filter((t) => !t.startsWith('sha256:')).sort() });
    if (kind === 'manifests') {
      const doc = manifests.get(repo)?.get(ref);
      if (!doc) return json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
      res.writeHead(200, { 'content-type': doc.mediaType, 'content-length': doc.bytes.length, 'docker-content-digest': digestOf(doc.bytes) });
      return void res.end(req.method === 'HEAD' ? undefined : doc.bytes);
    }
    const b = blobs.get(ref);
    if (!b) return json(res, 404, { errors: [{ code: 'BLOB_UNKNOWN' }] });
    const range = req.headers.range?.match(/^bytes=(\d+)-(\d+)$/);
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(Number(range[2]), b.length - 1);
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${b.length}`, 'content-length': end - start + 1 });
      return void res.end(b.subarray(start, end + 1));
    }
    res.writeHead(200, { 'content-length': b.length, 'content-type': 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : b);
  });
  const enc = (x: Uint8Array | string) => (typeof x === 'string' ? new TextEncoder().encode(x) : x);
  reg = Object.assign(server, {
    blobs,
    manifests,
    blob(bytes: Uint8Array | string, mediaType: string, annotations?: Record<string, string>) {
      const b = enc(bytes);
      const digest = digestOf(b);
      blobs.set(digest, b);
      return { mediaType, digest, size: b.length, ...(annotations ? { annotations } : {}) };
    },
    manifest(repo: string, doc: object | string, tag?: string) {
      const bytes = enc(typeof doc === 'string' ? doc : JSON.stringify(doc));
      const mediaType = (typeof doc === 'object' && (doc as { mediaType?: string }).mediaType) || 'application/vnd.oci.image.manifest.v1+json';
      const digest = digestOf(bytes);
      const repoMap = manifests.get(repo) ?? new Map();
      manifests.set(repo, repoMap);
      repoMap.set(digest, { bytes, mediaType });
      if (tag) repoMap.set(tag, { bytes, mediaType });
      return { mediaType, digest, size: bytes.length, bytes };
    },
  });
  return reg;
}

/** Run `f`, sampling RSS every 5 ms: its result and the peak growth over the RSS at the start, in MiB. */
export async function peakRss<T>(f: () => Promise<T>): Promise<{ value: T; peakMiB: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    const value = await f();
    return { value, peakMiB: (Math.max(peak, process.memoryUsage().rss) - base) / 2 ** 20 };
  } finally {
    clearInterval(t);
  }
}
