/**
 * The one HTTP layer the release-store sources share (apt, yum/dnf, LVFS, checksum directories): GET and Range reads
 * with per-host concurrency, header and body timeouts (a stalled server ends in an error, never a hang), retries with
 * exponential backoff on 429/5xx and transient network errors honouring `Retry-After` (RFC 9110 §10.2.3), bounded
 * redirects (no HTTPS→HTTP downgrade off loopback), extra trusted CAs (`--ca`), proxies from the standard
 * `HTTP(S)_PROXY`/`NO_PROXY` variables (undici's EnvHttpProxyAgent), bounded bodies, streaming decompression (gzip, xz,
 * zstd through src/containers/compression.ts) under size and ratio caps, and `If-None-Match` revalidation against a
 * caller-held cache so a rescan fetches only the index files that changed (RFC 9110 §13.1.2).
 * The OCI client (oci/_http.ts) carries registry auth; this one is plain anonymous HTTP(S) with the same limits.
 * @module
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import pLimit from 'p-limit';
import { Agent, EnvHttpProxyAgent, fetch, type Dispatcher, type Response } from 'undici';
import { decompress, sniffCompression } from '../containers/compression.js';
import { ExpansionBudget, checkRatio } from '../containers/types.js';
import { LimitError, ShelflifeError } from '../errors.js';
import xz from 'xz-decompress';
import { isLoopback } from './oci/_http.js';
import { describeNetError, isTransient, sleep } from './_net.js';

/** Index documents (Release, Packages, repomd, primary, firmware.xml, SHA256SUMS) larger than this are refused. */
export const MAX_INDEX_BYTES = 512 * 1024 * 1024;
/** Compressed index files larger than this are refused before decompression. */
export const MAX_COMPRESSED_INDEX_BYTES = 128 * 1024 * 1024;
/** Small documents (signatures, keys, directory listings). */
export const MAX_SMALL_DOCUMENT_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const MAX_RETRY_AFTER_MS = 30_000;

export interface HttpClientOptions {
  /** PEM files of extra trusted CAs (`--ca`), added to Node's bundled roots. */
  caFiles?: string[];
  /** Requests in flight per host. */
  perHost?: number;
  /** Time allowed for response headers, and between two body chunks (ms). */
  timeoutMs?: number;
  retries?: number;
  /** Backoff base in ms (tests use small values). */
  backoffMs?: number;
  /** Called for every HTTP exchange (tests, benchmark). */
  onRequest?: (method: string, url: string, headers: Record<string, string>) => void;
  /** ETag revalidation cache (URL → validator and body), held by the caller across scans. */
  cache?: Map<string, { etag: string; bytes: Uint8Array }>;
}

export class HttpError extends ShelflifeError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super('remote', message);
  }
}

export interface HttpStats {
  requests: number;
  bytes: number;
  /** Answers 304 Not Modified served from the cache. */
  notModified: number;
}

export interface FetchedDocument {
  url: string;
  bytes: Uint8Array;
  etag?: string;
  lastModified?: string;
  contentType?: string;
}

export class HttpClient {
  readonly stats: HttpStats = { requests: 0, bytes: 0, notModified: 0 };
  private readonly dispatcher: Dispatcher;
  private readonly limits = new Map<string, ReturnType<typeof pLimit>>();

  constructor(private readonly options: HttpClientOptions = {}) {
    const ca = options.caFiles?.length ? [...rootCertificates, ...options.caFiles.map((f) => readFileSync(f, 'utf8'))] : undefined;
    const timeout = options.timeoutMs ?? 30_000;
    const base = { headersTimeout: timeout, bodyTimeout: timeout, connectTimeout: timeout, keepAliveTimeout: 10_000, connections: options.perHost ?? 8 };
    const proxied = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'].some((k) => process.env[k]);
    this.dispatcher = proxied
      ? new EnvHttpProxyAgent({ ...base, ...(ca ? { connect: { ca }, requestTls: { ca } } : {}) })
      : new Agent({ ...base, ...(ca ? { connect: { ca } } : {}) });
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => {});
  }

  private limiter(url: string): ReturnType<typeof pLimit> {
    const host = new URL(url).host;
    let l = this.limits.get(host);
    if (!l) this.limits.set(host, (l = pLimit(this.options.perHost ?? 8)));
    return l;
  }

  /**
   * GET with retries; the response is handed to `consume` while the host slot is held. Statuses in `accept` come back
   * instead of being thrown (404 for optional files).
   */
  async request<T>(
    url: string,
    headers: Record<string, string>,
    consume: (res: Response, finalUrl: string) => Promise<T>,
    accept: number[] = [],
    method: 'GET' | 'HEAD' = 'GET',
  ): Promise<T> {
    return this.limiter(url)(async () => {
      const retries = this.options.retries ?? 3;
      for (let attempt = 0; ; attempt++) {
        let res: Response;
        let finalUrl: string;
        try {
          ({ res, url: finalUrl } = await this.send(url, headers, method));
        } catch (e) {
          if (e instanceof HttpError) throw e;
          if (attempt < retries && isTransient(e)) {
            await sleep(backoff(undefined, attempt, this.options.backoffMs ?? 250));
            continue;
          }
          throw new HttpError(`${url}: ${method} failed: ${describeNetError(e)}`);
        }
        if ((res.status === 429 || res.status >= 500) && attempt < retries && !accept.includes(res.status)) {
          await res.body?.cancel().catch(() => {});
          await sleep(backoff(res, attempt, this.options.backoffMs ?? 250));
          continue;
        }
        if (!res.ok && res.status !== 304 && !accept.includes(res.status)) {
          await res.body?.cancel().catch(() => {});
          throw new HttpError(`${url}: HTTP ${res.status}${res.status === 429 ? ' (rate limited; retries exhausted)' : ''}`, res.status);
        }
        try {
          return await consume(res, finalUrl);
        } catch (e) {
          await res.body?.cancel().catch(() => {});
          if (e instanceof ShelflifeError) throw e;
          throw new HttpError(`${url}: reading the response failed: ${describeNetError(e)}`);
        }
      }
    });
  }

  private async send(url: string, headers: Record<string, string>, method: 'GET' | 'HEAD'): Promise<{ res: Response; url: string }> {
    let current = url;
    const seen = new Set<string>();
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const h = { 'user-agent': 'shelflife', 'accept-encoding': 'identity', ...headers };
      this.stats.requests++;
      this.options.onRequest?.(method, current, h);
      const res = await fetch(current, { method, headers: h, redirect: 'manual', dispatcher: this.dispatcher });
      const loc = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && res.status !== 304 && loc) {
        await res.body?.cancel().catch(() => {});
        const next = new URL(loc, current);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new HttpError(`${url}: redirect to ${next.protocol} refused`);
        if (new URL(current).protocol === 'https:' && next.protocol === 'http:' && !isLoopback(next.host))
          throw new HttpError(`${url}: redirect from HTTPS to plain-HTTP ${next.origin} refused`);
        if (seen.has(next.href)) throw new HttpError(`${url}: redirect loop at ${next.href}`);
        seen.add(next.href);
        current = next.href;
        continue;
      }
      return { res, url: current };
    }
    throw new HttpError(`${url}: more than ${MAX_REDIRECTS} redirects`);
  }

  /** A whole document, bounded; with the cache, revalidated by ETag. `optional`: undefined on 404/410. */
  async get(url: string, opts: { limit?: number; optional?: boolean } = {}): Promise<FetchedDocument | undefined> {
    const cached = this.options.cache?.get(url);
    const headers: Record<string, string> = cached ? { 'if-none-match': cached.etag } : {};
    return this.request(
      url,
      headers,
      async (res, finalUrl) => {
        if (res.status === 404 || res.status === 410) {
          await res.body?.cancel().catch(() => {});
          return undefined;
        }
        const etag = res.headers.get('etag') ?? undefined;
        if (res.status === 304 && cached) {
          await res.body?.cancel().catch(() => {});
          this.stats.notModified++;
          return { url: finalUrl, bytes: cached.bytes, etag: cached.etag };
        }
        if (res.status === 304) throw new HttpError(`${url}: 304 Not Modified without a cached copy`);
        const bytes = await this.readBody(res, opts.limit ?? MAX_SMALL_DOCUMENT_BYTES, url);
        if (etag && this.options.cache) this.options.cache.set(url, { etag, bytes });
        return {
          url: finalUrl,
          bytes,
          ...(etag ? { etag } : {}),
          ...(res.headers.get('last-modified') ? { lastModified: res.headers.get('last-modified')! } : {}),
          ...(res.headers.get('content-type') ? { contentType: res.headers.get('content-type')! } : {}),
        };
      },
      opts.optional ? [404, 410] : [],
    );
  }

  /** Size of an object from a HEAD request (undefined when the server gives no Content-Length, or on 404). */
  async size(url: string): Promise<number | undefined> {
    return this.request(
      url,
      {},
      async (res) => {
        await res.body?.cancel().catch(() => {});
        const n = Number(res.headers.get('content-length') ?? NaN);
        return res.ok && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
      },
      [404, 405, 410],
      'HEAD',
    );
  }

  /** `Range: bytes=start-(end-1)` (RFC 9110 §14): a server that answers 200 is an error, not a silent full download. */
  async range(url: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array();
    return this.request(url, { range: `bytes=${start}-${end - 1}` }, async (res) => {
      if (res.status === 206) {
        const cr = res.headers.get('content-range');
        const m = cr?.match(/^bytes (\d+)-(\d+)\/(\d+|\*)$/);
        if (!m || Number(m[1]) !== start) throw new HttpError(`${url}: Content-Range "${cr}" does not answer bytes=${start}-${end - 1}`);
        const bytes = await this.readBody(res, end - start, url);
        if (bytes.length < Math.min(end - start, Number(m[2]) - start + 1))
          throw new HttpError(`${url}: truncated range response (${bytes.length} of ${end - start} bytes)`);
        return bytes;
      }
      // RFC 9110 §14.2: a server may ignore Range. Reading on would download the whole object: refuse instead.
      await res.body?.cancel().catch(() => {});
      throw new HttpError(`${url}: the server ignored the Range request (HTTP ${res.status} instead of 206); not downloading the whole file`, res.status);
    });
  }

  /** Stream an object's body (whole-package reads with `--fetch all`). */
  open(url: string): AsyncIterable<Uint8Array> {
    const self = this;
    return (async function* () {
      const chunks: AsyncIterable<Uint8Array> | undefined = await self.request(url, {}, async (res) => {
        const declared = Number(res.headers.get('content-length') ?? NaN);
        if (!res.body) return undefined;
        const body = res.body;
        return (async function* () {
          let n = 0;
          for await (const c of body) {
            n += c.length;
            self.stats.bytes += c.length;
            yield c as Uint8Array;
          }
          if (Number.isFinite(declared) && n < declared) throw new HttpError(`${url}: truncated body (${n} of ${declared} bytes)`);
        })();
      });
      if (chunks) yield* chunks;
    })();
  }

  private async readBody(res: Response, limit: number, what: string): Promise<Uint8Array> {
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > limit) throw new HttpError(`${what}: ${declared} bytes is more than the ${limit}-byte limit`);
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const chunk of res.body ?? []) {
      n += chunk.length;
      this.stats.bytes += chunk.length;
      if (n > limit) throw new HttpError(`${what}: more than the ${limit}-byte limit`);
      parts.push(chunk as Uint8Array);
    }
    // undici ends a body cut short by a closed connection without an error when there is no length to check.
    if (Number.isFinite(declared) && n < declared) throw new HttpError(`${what}: truncated body (${n} of ${declared} bytes)`);
    return new Uint8Array(Buffer.concat(parts));
  }
}

/** Decompress an index file held in memory (sniffed by magic), under the size and ratio caps. bzip2 is not supported. */
export async function decompressIndex(bytes: Uint8Array, what: string, maxExpanded = MAX_INDEX_BYTES): Promise<Uint8Array> {
  const kind = sniffCompression(bytes.subarray(0, 8));
  if (!kind) {
    if (bytes[0] === 0x42 && bytes[1] === 0x5a && bytes[2] === 0x68)
      throw new ShelflifeError('unsupported', `${what}: bzip2-compressed; no bzip2 decoder (use the .xz/.gz variant)`);
    return bytes;
  }
  if (kind === 'xz') return unxzBounded(bytes, what, maxExpanded);
  const parts: Uint8Array[] = [];
  const budget = new ExpansionBudget(maxExpanded);
  for await (const c of decompress(
    kind,
    (async function* () {
      yield bytes;
    })(),
    budget,
    what,
  ))
    parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * xz through xz-decompress, cancelling the stream when a cap stops it early. xz-decompress serialises every stream on
 * one process-wide mutex that only `cancel()`, an error or the end of the stream releases: a stream abandoned with
 * `releaseLock()` alone (as src/containers/compression.ts's unxz does when the ratio check throws) leaves every later
 * xz decompression in the process waiting forever.
 */
async function unxzBounded(bytes: Uint8Array, what: string, maxExpanded: number): Promise<Uint8Array> {
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
  const reader = new xz.XzReadableStream(source).getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      n += r.value.length;
      if (n > maxExpanded) throw new LimitError('limit-expanded-bytes', `${what}: expanded past ${maxExpanded} bytes; not read further`);
      checkRatio(n, bytes.length, what);
      parts.push(r.value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    if (e instanceof ShelflifeError) throw e;
    throw new ShelflifeError('malformed', `${what}: xz data does not decompress: ${(e as Error).message}`);
  }
  reader.releaseLock();
  return new Uint8Array(Buffer.concat(parts));
}

function backoff(res: Response | undefined, attempt: number, base: number): number {
  const ra = res?.headers.get('retry-after');
  if (ra) {
    const secs = Number(ra);
    const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(ra) - Date.now();
    if (Number.isFinite(ms)) return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
  }
  return Math.min(base * 2 ** attempt + Math.random() * base, MAX_RETRY_AFTER_MS);
}

/** The client a release-store source uses: the caller's (tests, shared across sources) or one built from the options. */
export function httpClientFrom(options: { http?: unknown; ca?: unknown; backoffMs?: unknown; timeoutMs?: unknown }): HttpClient {
  if (options.http instanceof HttpClient) return options.http;
  const ca = options.ca === undefined ? [] : Array.isArray(options.ca) ? (options.ca as string[]) : [options.ca as string];
  return new HttpClient({ caFiles: ca, backoffMs: options.backoffMs as number | undefined, timeoutMs: options.timeoutMs as number | undefined });
}
