/**
 * The one HTTP client (undici 7) behind every network source and sink: OCI registries (src/oci/), release stores
 * (apt, yum, LVFS, checksum directories), S3-compatible stores (src/net/s3.ts), the HEC and Elasticsearch sinks and
 * the resign writers. What each request gets, whoever sends it:
 * - an idle timeout (response headers, and the gap between two body chunks) and an overall deadline from the first
 *   byte sent to the last byte read (a server dripping one byte every few seconds ends in an error, not a hang);
 * - retries with exponential backoff on 429/5xx and transient connection errors for idempotent methods, honouring
 *   `Retry-After` up to a cap and within the deadline (RFC 9110 §10.2.3). Only whole exchanges are retried: undici's
 *   retry interceptor would resume a body cut short with a Range request, splicing the bytes of two responses, and a
 *   scanner that hashes what it reads must not accept bytes no single response sent;
 * - redirects followed here, under src/net/address.ts's rules: same host unless the user listed another, never to a
 *   link-local or metadata address, never HTTPS → HTTP off loopback, bounded hops, no loops; credentials (an
 *   `Authorization` header, a URL's userinfo) never leave the origin they were given for;
 * - extra trusted CAs added to Node's roots (`--ca`, `--registry-ca`), proxies from `HTTP(S)_PROXY`/`NO_PROXY`;
 * - bounded body reads, `Content-Length` checked against what arrives, and counters for tests and benchmarks.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { type ErrorDetails, ShelflifeError, UsageError } from '../errors.js';
import { blockedAddress, guardLookup, hostAllowed, isLoopback, type Resolver } from './address.js';
import { redactUrl, redactUrlsIn } from './secrets.js';

/** Idle timeout: response headers, and between two body chunks. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Overall deadline of one request, redirects and body included. */
export const DEFAULT_DEADLINE_MS = 10 * 60_000;
export const DEFAULT_RETRIES = 3;
const MAX_REDIRECTS = 5;
/** The longest a `Retry-After` (or a backoff step) makes us wait. */
const MAX_RETRY_WAIT_MS = 30_000;
/** Connection errors worth a retry; never TLS or certificate errors, never a timeout (a stalling server would multiply). */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/**
 * The network settings every remote source family shares (one type: sources add only what is theirs). Durations in
 * milliseconds.
 */
export interface NetOptions {
  /** PEM files of extra trusted CAs, added to Node's bundled roots (`--ca`, `--registry-ca`). */
  ca?: string | string[];
  /** Idle timeout (`--timeout`): waiting for response headers, or between two body chunks. */
  timeoutMs?: number;
  /** Overall deadline of each request (`--deadline`), from the first byte sent to the last byte read. */
  deadlineMs?: number;
  /** Hosts a redirect may lead to besides the request's own (`--follow-redirects`): `host`, `host:port`, `*.domain`. */
  followRedirects?: string | string[];
  /** Retries of an idempotent request on 429/5xx or a transient connection error. */
  retries?: number;
  /** Backoff base (tests use small values). */
  backoffMs?: number;
  /** Connections per origin. */
  perHost?: number;
  /** Observes every exchange once answered (tests, benchmarks): method, redacted URL, headers as sent. */
  onRequest?: (method: string, url: string, headers: Record<string, string>) => void;
  /** Told of every 429 and how long it asks to wait: distributed workers share it (src/queue/politeness.ts). */
  onRateLimit?: (origin: string, waitMs: number) => void;
}

/** Small documents (signatures, keys, directory listings) larger than this are refused unless the caller says otherwise. */
export const MAX_SMALL_DOCUMENT_BYTES = 4 * 1024 * 1024;

export interface FetchedDocument {
  /** Where it came from, after redirects (userinfo removed). */
  url: string;
  bytes: Uint8Array;
  etag?: string;
  lastModified?: string;
  contentType?: string;
}

export interface HttpClientOptions extends NetOptions {
  /** ETag revalidation cache (URL → validator and body), held by the caller across scans. */
  cache?: Map<string, { etag: string; bytes: Uint8Array }>;
  /** TLS client certificate (sinks' mutual TLS): PEM files. */
  clientCert?: { cert: string; key: string };
  /** Trust only these CA files instead of adding them to Node's roots (sinks: the SIEM's own CA). */
  caReplacesRoots?: boolean;
  /** Name resolution under the address rules (default: the system resolver); tests resolve names to chosen addresses. */
  resolve?: Resolver;
}

export class HttpError extends ShelflifeError {
  readonly status?: number;
  /** `uri` is the URL asked for; it and the message are stored with any userinfo password redacted. */
  constructor(message: string, details: ErrorDetails & { status?: number } = {}) {
    super('remote', redactUrlsIn(message), { ...details, ...(details.uri !== undefined ? { uri: redactUrl(details.uri) } : {}) });
    this.status = details.status;
  }
}

export interface HttpStats {
  requests: number;
  bytes: number;
  /** 304 Not Modified answers served from the ETag cache. */
  notModified: number;
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface SendOptions {
  method?: HttpMethod;
  headers?: Record<string, string>;
  /** A stream body is sent once: never retried. */
  body?: Uint8Array | string | Readable;
  /** The caller's own cancellation, besides the deadline. */
  signal?: AbortSignal;
  /** `manual`: a 3xx is returned as it is (its body discarded); default: followed under the redirect rules. */
  redirect?: 'follow' | 'manual';
  /** Retries for this request (default: the client's, for GET/HEAD/PUT; never for POST/PATCH). */
  retries?: number;
}

export interface HttpResponse {
  /** Where the answer came from, after redirects (userinfo removed). */
  url: string;
  status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The body, once; errors (deadline, idle timeout, reset, short body) are HttpErrors naming the URL. */
  body(): AsyncIterable<Uint8Array>;
  /** The whole body, refused past `limit` bytes (by `Content-Length` before reading, else as it arrives). */
  bytes(limit: number): Promise<Uint8Array>;
  /** Drop the body (the connection is closed or reused, never left waiting). */
  discard(): Promise<void>;
}

/** The CA list for undici's `connect.ca`: Node's roots plus the user's files, or undefined for Node's defaults. */
function caBundle(files: string[], replace: boolean): string[] | undefined {
  if (!files.length) return undefined;
  const pems = files.map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (e) {
      throw new UsageError(`CA file: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`, { uri: f, cause: e });
    }
  });
  return replace ? pems : [...rootCertificates, ...pems];
}

export function asList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function positive(v: number | undefined, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;
}

/** How far into a 200 answer to a Range request the window may end: the start of the stream is read that far, at most. */
export const MAX_UNRANGED_PREFIX = 16 * 1024 * 1024;

/** Bytes [start, end) of a body read from its first byte; the stream is cancelled once `end` is reached. */
export async function readPrefix(res: HttpResponse, start: number, end: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let pos = 0;
  const it = res.body()[Symbol.asyncIterator]();
  try {
    while (pos < end) {
      const r = await it.next();
      if (r.done) break;
      const from = Math.max(start - pos, 0);
      const to = Math.min(end - pos, r.value.length);
      if (to > from) parts.push(r.value.subarray(from, to));
      pos += r.value.length;
    }
  } finally {
    await it.return?.();
  }
  return new Uint8Array(Buffer.concat(parts));
}

export class HttpClient {
  readonly stats: HttpStats = { requests: 0, bytes: 0, notModified: 0 };
  private readonly agent: Dispatcher;
  private readonly credentials = new Map<string, string>();
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly follow: string[];

  constructor(private readonly options: HttpClientOptions = {}) {
    this.timeoutMs = positive(options.timeoutMs, DEFAULT_TIMEOUT_MS);
    this.deadlineMs = positive(options.deadlineMs, DEFAULT_DEADLINE_MS);
    this.retries = options.retries !== undefined && options.retries >= 0 ? Math.floor(options.retries) : DEFAULT_RETRIES;
    this.backoffMs = positive(options.backoffMs, 250);
    this.follow = asList(options.followRedirects).flatMap((s) => s.split(','));
    const ca = caBundle(asList(options.ca), !!options.caReplacesRoots);
    const tls = {
      ...(ca ? { ca } : {}),
      ...(options.clientCert ? { cert: readFileSync(options.clientCert.cert), key: readFileSync(options.clientCert.key) } : {}),
    };
    const connect = { ...tls, lookup: guardLookup(options.resolve), timeout: Math.min(this.timeoutMs, 30_000) };
    const base = {
      connect,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      keepAliveTimeout: 10_000,
      connections: options.perHost ?? 8,
    };
    const proxied = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'].some((k) => process.env[k]);
    this.agent = proxied ? new EnvHttpProxyAgent({ ...base, requestTls: tls }) : new Agent(base);
  }

  /** The overall deadline and the idle timeout in force, for messages. */
  get limits(): { timeoutMs: number; deadlineMs: number } {
    return { timeoutMs: this.timeoutMs, deadlineMs: this.deadlineMs };
  }

  /**
   * Send `authorization` with every request to `origin` (`https://host:port`, as written by the user) and nowhere
   * else: not to another port, scheme or host, not after a redirect off it.
   */
  authorize(origin: string, authorization: string): void {
    this.credentials.set(new URL(origin).origin, authorization);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /**
   * One exchange. Statuses are returned, not thrown (callers decide what 404 means); network failures, the deadline,
   * refused redirects and blocked addresses throw HttpError.
   */
  async send(url: string, o: SendOptions = {}): Promise<HttpResponse> {
    const method = o.method ?? 'GET';
    const shown = redactUrl(url);
    let current: URL;
    try {
      current = new URL(url);
    } catch {
      throw new HttpError('not a URL', { uri: shown });
    }
    const start = current;
    const deadline = AbortSignal.timeout(this.deadlineMs);
    const signal = o.signal ? AbortSignal.any([deadline, o.signal]) : deadline;
    const seen = new Set<string>();
    for (let hop = 0; ; hop++) {
      this.checkTarget(current, shown);
      const headers: Record<string, string> = { 'user-agent': 'shelflife', 'accept-encoding': 'identity', ...lower(o.headers) };
      if (current.origin !== start.origin) {
        // RFC 9110 §15.4: a client follows a redirect with the request's own credentials only on the same origin.
        delete headers.authorization;
        delete headers.cookie;
        delete headers['proxy-authorization'];
      }
      const cred = this.credentials.get(current.origin);
      if (cred && !headers.authorization) headers.authorization = cred;
      if (current.username || current.password) {
        current = new URL(current.href);
        current.username = current.password = '';
      }
      const r = await this.exchange(current, method, headers, o, shown, signal);
      const location = r.headers.location;
      if (r.statusCode >= 300 && r.statusCode < 400 && r.statusCode !== 304 && location && o.redirect !== 'manual' && (method === 'GET' || method === 'HEAD')) {
        await dump(r);
        if (hop >= MAX_REDIRECTS) throw new HttpError(`more than ${MAX_REDIRECTS} redirects`, { uri: shown });
        let next: URL;
        try {
          next = new URL(String(location), current);
        } catch {
          throw new HttpError('redirect to an invalid URL', { uri: shown });
        }
        this.checkRedirect(current, next, shown);
        if (seen.has(next.href)) throw new HttpError(`redirect loop at ${redactUrl(next.href)}`, { uri: shown });
        seen.add(next.href);
        current = next;
        continue;
      }
      return this.response(r, redactUrl(current.href), shown, signal, method === 'HEAD');
    }
  }

  /**
   * A whole document, bounded (`limit`, default MAX_SMALL_DOCUMENT_BYTES); revalidated by ETag against `cache`
   * (RFC 9110 §13.1.2) so a rescan downloads only what changed. `optional`: undefined on 404/410. Any other non-2xx
   * status is an HttpError naming it.
   */
  async get(url: string, o: { limit?: number; optional?: boolean; headers?: Record<string, string> } = {}): Promise<FetchedDocument | undefined> {
    const cached = this.options.cache?.get(url);
    const res = await this.send(url, { headers: { ...(o.headers ?? {}), ...(cached ? { 'if-none-match': cached.etag } : {}) } });
    if (o.optional && (res.status === 404 || res.status === 410)) {
      await res.discard();
      return undefined;
    }
    if (res.status === 304) {
      await res.discard();
      if (!cached) throw new HttpError('304 Not Modified without a cached copy', { uri: redactUrl(url), status: 304 });
      this.stats.notModified++;
      return { url: res.url, bytes: cached.bytes, etag: cached.etag };
    }
    await expectOk(res, url);
    const bytes = await res.bytes(o.limit ?? MAX_SMALL_DOCUMENT_BYTES);
    const etag = res.headers.etag;
    if (etag && this.options.cache) this.options.cache.set(url, { etag, bytes });
    return {
      url: res.url,
      bytes,
      ...(etag ? { etag } : {}),
      ...(res.headers['last-modified'] ? { lastModified: res.headers['last-modified'] } : {}),
      ...(res.headers['content-type'] ? { contentType: res.headers['content-type'] } : {}),
    };
  }

  /** Size of an object from a HEAD request: undefined when the server gives no Content-Length or refuses HEAD (405). */
  async size(url: string): Promise<number | undefined> {
    const res = await this.send(url, { method: 'HEAD' });
    await res.discard();
    if (res.status === 405) return undefined;
    await expectOk(res, url);
    const n = Number(res.headers['content-length'] ?? NaN);
    return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  }

  /** `Range: bytes=start-(end-1)` (RFC 9110 §14), the bytes alone (see `readRange`). */
  async range(url: string, start: number, end: number): Promise<Uint8Array> {
    return (await this.readRange(url, start, end)).bytes;
  }

  /**
   * `Range: bytes=start-(end-1)` (RFC 9110 §14). A server may ignore Range and answer 200 with the whole body (§14.2:
   * Python's http.server, some mirrors and proxies): a window that ends within the first `MAX_UNRANGED_PREFIX` bytes
   * is then taken from the start of the stream, which is cancelled there (`rangeIgnored`); a window further in is
   * refused, since reaching it would download the object.
   */
  async readRange(url: string, start: number, end: number): Promise<{ bytes: Uint8Array; rangeIgnored: boolean }> {
    if (end <= start) return { bytes: new Uint8Array(), rangeIgnored: false };
    const shown = redactUrl(url);
    const res = await this.send(url, { headers: { range: `bytes=${start}-${end - 1}` } });
    if (res.status !== 206) {
      if (res.status < 200 || res.status >= 300) {
        await res.discard();
        await expectOk(res, url);
      }
      if (end > MAX_UNRANGED_PREFIX) {
        await res.discard();
        throw new HttpError(
          `the server ignored the Range request (HTTP ${res.status} instead of 206); not downloading ${end} bytes to reach offset ${start} (limit ${MAX_UNRANGED_PREFIX})`,
          { uri: shown, status: res.status },
        );
      }
      return { bytes: await readPrefix(res, start, end), rangeIgnored: true };
    }
    const cr = res.headers['content-range'];
    const m = cr?.match(/^bytes (\d+)-(\d+)\/(\d+|\*)$/);
    if (!m || Number(m[1]) !== start || Number(m[2]) > end - 1) {
      await res.discard();
      throw new HttpError(`Content-Range "${cr}" does not answer bytes=${start}-${end - 1}`, { uri: shown });
    }
    const bytes = await res.bytes(end - start);
    if (bytes.length !== Number(m[2]) - start + 1)
      throw new HttpError(`range response of ${bytes.length} bytes does not match its Content-Range "${cr}"`, { uri: shown });
    return { bytes, rangeIgnored: false };
  }

  /** Stream an object's body (whole-object reads); a non-2xx answer is an HttpError. */
  open(url: string): AsyncIterable<Uint8Array> {
    const self = this;
    return (async function* () {
      const res = await self.send(url);
      await expectOk(res, url);
      yield* res.body();
    })();
  }

  /**
   * One request, retried as a whole (idempotent methods only) on a transient connection error or a 429/5xx answer, with
   * exponential backoff or the server's Retry-After, never past the deadline. The last answer is returned as it is.
   */
  private async exchange(
    url: URL,
    method: HttpMethod,
    headers: Record<string, string>,
    o: SendOptions,
    shown: string,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const stream = o.body !== undefined && typeof o.body !== 'string' && !(o.body instanceof Uint8Array);
    const retries = IDEMPOTENT.has(method) && !stream ? (o.retries ?? this.retries) : 0;
    for (let attempt = 0; ; attempt++) {
      let r: Dispatcher.ResponseData;
      try {
        r = await this.agent.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method,
          headers,
          body: o.body,
          signal,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
        });
      } catch (e) {
        if (attempt < retries && !signal.aborted && TRANSIENT_CODES.has(errCode(e) ?? '')) {
          await this.pause(this.backoff(attempt), signal, e, shown, method);
          continue;
        }
        throw this.failure(e, shown, method, signal);
      }
      // Counted once answered: a refused TLS attempt on a plain-HTTP loopback registry is not an exchange.
      this.stats.requests++;
      this.options.onRequest?.(method, url.href, headers);
      if (attempt < retries && RETRY_STATUSES.has(r.statusCode)) {
        const wait = retryAfter(r.headers['retry-after']) ?? this.backoff(attempt);
        if (r.statusCode === 429) this.options.onRateLimit?.(url.origin, wait);
        // A wait the deadline cannot fit is not taken: the answer stands.
        if (wait <= MAX_RETRY_WAIT_MS && wait < this.deadlineMs) {
          await dump(r);
          await this.pause(wait, signal, undefined, shown, method);
          continue;
        }
      }
      return r;
    }
  }

  private backoff(attempt: number): number {
    return Math.min(this.backoffMs * 2 ** attempt + Math.random() * this.backoffMs, MAX_RETRY_WAIT_MS);
  }

  private async pause(ms: number, signal: AbortSignal, cause: unknown, shown: string, method: string): Promise<void> {
    try {
      await sleep(ms, undefined, { signal });
    } catch (e) {
      throw this.failure(cause ?? e, shown, method, signal);
    }
  }

  /** IP literals are checked here; names are checked on every address DNS gives, at connect time (address.ts). */
  private checkTarget(u: URL, shown: string): void {
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new HttpError(`${u.protocol} URLs are not fetched`, { uri: shown });
    const why = blockedAddress(u.hostname);
    if (why) throw new HttpError(`${redactUrl(u.href)} is ${why}; never fetched`, { uri: shown });
  }

  private checkRedirect(from: URL, to: URL, shown: string): void {
    if (to.protocol !== 'http:' && to.protocol !== 'https:') throw new HttpError(`redirect to ${to.protocol} refused`, { uri: shown });
    this.checkTarget(to, shown);
    if (from.protocol === 'https:' && to.protocol === 'http:' && !isLoopback(to.host))
      throw new HttpError(`redirect from HTTPS to plain-HTTP ${to.origin} refused`, { uri: shown });
    if (!hostAllowed(to.host, from.host, this.follow))
      throw new HttpError(
        `redirect to ${to.host} refused: redirects stay on ${from.hostname} unless --follow-redirects names the other host (--follow-redirects ${to.hostname})`,
        { uri: shown },
      );
  }

  private failure(e: unknown, shown: string, method: string, signal: AbortSignal): HttpError {
    if (e instanceof HttpError) return e;
    if (signal.aborted) {
      const reason =
        (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError'
          ? `not finished within the ${seconds(this.deadlineMs)} deadline (--deadline)`
          : 'cancelled';
      return new HttpError(`${method} ${reason}`, { uri: shown, cause: e });
    }
    return new HttpError(`${method} failed: ${describeNetError(e, this.timeoutMs)}`, { uri: shown, cause: e });
  }

  private response(r: Dispatcher.ResponseData, url: string, shown: string, signal: AbortSignal, head: boolean): HttpResponse {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
    // RFC 9110 §8.6: a HEAD, 204 or 304 answer carries no body whatever its Content-Length says.
    const bodyless = head || r.statusCode === 204 || r.statusCode === 304;
    const declared = !bodyless && headers['content-length'] !== undefined ? Number(headers['content-length']) : NaN;
    // Errors reach a reader through iteration; this listener only keeps the abort of a body dropped unread (or left
    // half-read) from surfacing as an unhandled 'error' event.
    r.body.on('error', ignoreDiscardedBody);
    const self = this;
    let used = false;
    const body = (): AsyncIterable<Uint8Array> => {
      if (used) throw new HttpError('response body read twice', { uri: shown });
      used = true;
      return (async function* () {
        let n = 0;
        try {
          for await (const chunk of r.body) {
            n += chunk.length;
            self.stats.bytes += chunk.length;
            yield chunk as Uint8Array;
          }
        } catch (e) {
          throw self.failure(e, shown, 'reading the body', signal);
        } finally {
          if (!r.body.destroyed) r.body.destroy();
        }
        // undici ends a body cut short by a closed connection without an error when there is no length to check.
        if (Number.isFinite(declared) && n !== declared) throw new HttpError(`truncated body (${n} of ${declared} bytes)`, { uri: shown });
      })();
    };
    return {
      url,
      status: r.statusCode,
      headers,
      body,
      discard: () => dump(r),
      bytes: async (limit: number) => {
        if (declared > limit) {
          await dump(r);
          throw new HttpError(`${declared} bytes is more than the ${limit}-byte limit`, { uri: shown });
        }
        const parts: Uint8Array[] = [];
        let n = 0;
        for await (const c of body()) {
          n += c.length;
          if (n > limit) throw new HttpError(`more than the ${limit}-byte limit`, { uri: shown });
          parts.push(c);
        }
        return parts.length === 1 ? parts[0] : new Uint8Array(Buffer.concat(parts));
      },
    };
  }
}

/** A non-2xx answer as an HttpError naming the status (the body is dropped unread). */
export async function expectOk(res: HttpResponse, url: string): Promise<void> {
  if (res.status >= 200 && res.status < 300) return;
  await res.discard();
  const hint = res.status === 429 ? ' (rate limited; retries exhausted)' : res.status === 404 || res.status === 410 ? ' (not found)' : '';
  throw new HttpError(`HTTP ${res.status}${hint}`, { uri: redactUrl(url), status: res.status });
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date, in ms from now (undefined when absent or unreadable). */
export function retryAfter(v: string | string[] | undefined): number | undefined {
  const text = Array.isArray(v) ? v[0] : v;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

async function dump(r: Dispatcher.ResponseData): Promise<void> {
  // Destroying (not draining) the body: a hostile server's endless body must not be read to be thrown away. undici
  // reports a body destroyed before its end as an abort, which nobody is left to hear.
  r.body.on('error', ignoreDiscardedBody);
  if (!r.body.destroyed) r.body.destroy();
}

function ignoreDiscardedBody(): void {
  // See response(): the body was dropped on purpose.
}

function lower(h: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k.toLowerCase()] = v;
  return out;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** The system or undici error code, whether on the error or on its cause. */
export function errCode(e: unknown): string | undefined {
  const c = e as { code?: string; cause?: { code?: string } };
  return c?.cause?.code ?? c?.code;
}

/** One line for a person: what failed and, for timeouts, which limit. */
export function describeNetError(e: unknown, timeoutMs?: number): string {
  const code = errCode(e);
  if (timeoutMs && (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'))
    return `no data for ${seconds(timeoutMs)} (idle timeout, --timeout)`;
  const c = e as { message?: string; cause?: { code?: string; message?: string } };
  const text = [c?.cause?.code ?? (c as { code?: string })?.code, c?.cause?.message ?? c?.message].filter(Boolean).join(': ') || String(e);
  return redactUrlsIn(text);
}
