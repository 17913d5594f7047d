/**
 * A small OCI Distribution client (Distribution spec v1.1, https://github.com/opencontainers/distribution-spec):
 * auth (anonymous, basic, the bearer-token challenge flow of the Docker token spec, OAuth2 refresh tokens from
 * credential helpers), retries with backoff on 429/5xx honouring Retry-After (RFC 9110 §10.2.3), `Link`-header
 * pagination (RFC 8288), bounded bodies, range reads, and the write calls a re-signer needs (push blob, push manifest).
 * Plain HTTP only for loopback hosts or when asked (`plainHttp`).
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, fetch, type Dispatcher, type Response } from 'undici';
import { ShelflifeError } from '../../errors.js';
import type { RegistryCredential } from '../docker-auth.js';
import { describeNetError, errCode, isTransient, sleep } from '../_net.js';

/** Manifests, indexes, tag lists and token responses larger than this are refused (the spec suggests 4 MiB for manifests). */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
const MAX_RETRIES = 4;
const MAX_RETRY_AFTER_MS = 30_000;
const MAX_REDIRECTS = 5;
const MAX_PAGES = 10_000;

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.artifact.manifest.v1+json',
].join(', ');

export interface RegistryClientOptions {
  /** Allow plain HTTP to a non-loopback host. */
  plainHttp?: boolean;
  /** PEM file(s) of private CAs trusted for this registry (in addition to the system store). */
  caFiles?: string[];
  /** Credentials for the registry host (docker config, flags); looked up once, lazily. */
  credentials?: () => Promise<RegistryCredential | undefined>;
  /** Test/benchmark hook: called for every HTTP request made. */
  onRequest?: (method: string, url: string) => void;
  /** Backoff base in ms (tests use small values). */
  backoffMs?: number;
}

export interface ClientStats {
  requests: number;
  bytes: number;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\](:\d+)?$/g, '').replace(/:\d+$/, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export class RegistryError extends ShelflifeError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super('remote', message);
  }
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="…",service="…",scope="…"` (RFC 9110 §11.6.1 auth-param syntax). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = header.match(/^\s*([A-Za-z][\w-]*)\s*(.*)$/s);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*,?\s*/gy;
  re.lastIndex = 0;
  const rest = m[2];
  let p: RegExpExecArray | null;
  while ((p = re.exec(rest)) !== null && Object.keys(params).length < 32) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  }
  return { scheme: m[1].toLowerCase(), params };
}

/** RFC 8288 `Link: <url>; rel="next"`, resolved against the request URL. */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = part.match(/^\s*<([^>]*)>\s*;(.*)$/);
    if (m && /\brel\s*=\s*"?next"?/i.test(m[2])) return new URL(m[1], base).href;
  }
  return undefined;
}

function retryDelay(res: Response | undefined, attempt: number, base: number): number {
  const ra = res?.headers.get('retry-after');
  if (ra) {
    const secs = Number(ra);
    const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(ra) - Date.now();
    if (Number.isFinite(ms)) return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
  }
  return Math.min(base * 2 ** attempt + Math.random() * base, MAX_RETRY_AFTER_MS);
}

/** Read a body to bytes, refusing more than `limit`. */
export async function readBounded(res: Response, limit: number, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => {});
    throw new RegistryError(`${what}: ${declared} bytes is more than the ${limit}-byte limit`);
  }
  const parts: Uint8Array[] = [];
  let n = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      n += chunk.length;
      if (n > limit) {
        await res.body.cancel().catch(() => {});
        throw new RegistryError(`${what}: more than the ${limit}-byte limit`);
      }
      parts.push(chunk);
    }
  }
  return new Uint8Array(Buffer.concat(parts));
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Token scope for the bearer flow, e.g. `repository:foo/bar:pull`. */
  scope?: string;
  /** Statuses returned to the caller instead of thrown. */
  accept?: number[];
}

/**
 * One client per registry host. Reusable by a writer: `pushBlob` / `pushManifest` take the same auth path with a
 * `push` scope.
 */
export class RegistryClient {
  readonly stats: ClientStats = { requests: 0, bytes: 0 };
  private scheme: 'https' | 'http';
  private readonly dispatcher: Dispatcher;
  private readonly tokens = new Map<string, string>();
  private basic?: string;
  private credential?: Promise<RegistryCredential | undefined>;
  /** Set after the first 404 from the referrers endpoint: this registry has no referrers API (spec §"Listing Referrers"). */
  referrersUnsupported = false;
  /** An HTTPS exchange succeeded: never fall back to plain HTTP after that. */
  private httpsSeen = false;

  constructor(
    readonly host: string,
    private readonly options: RegistryClientOptions = {},
  ) {
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(host))
      throw new ShelflifeError('usage', `oci://${host}: not a registry host[:port]`);
    this.scheme = options.plainHttp ? 'http' : 'https';
    const ca = options.caFiles?.length ? options.caFiles.map((f) => readFileSync(f, 'utf8')) : undefined;
    // A private CA is added to, not in place of, Node's bundled roots.
    this.dispatcher = new Agent({ connect: ca ? { ca: [...rootCertificates, ...ca] } : {}, connections: 16, keepAliveTimeout: 10_000 });
  }

  get baseUrl(): string {
    return `${this.scheme}://${this.host}`;
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => {});
  }

  /** A request against the registry, path starting with `/v2/`, or an absolute URL from a Link/Location header. */
  async request(pathOrUrl: string, opts: RequestOptions = {}): Promise<Response> {
    const method = opts.method ?? 'GET';
    let authTried = false;
    for (let attempt = 0; ; attempt++) {
      const url = this.absolute(pathOrUrl);
      const headers: Record<string, string> = { 'user-agent': 'shelflife', ...(opts.headers ?? {}) };
      const auth = this.authorization(opts.scope);
      if (auth) headers.authorization = auth;
      let res: Response | undefined;
      try {
        res = await this.send(method, url, headers, opts.body);
      } catch (e) {
        // Loopback registries are often plain HTTP: fall back once, as docker does for localhost.
        if (url.startsWith('https:') && !this.httpsSeen && isLoopback(this.host) && isTlsOrConnectError(e)) {
          this.scheme = 'http';
          continue;
        }
        if (attempt < MAX_RETRIES && isTransient(e)) {
          await sleep(retryDelay(undefined, attempt, this.options.backoffMs ?? 200));
          continue;
        }
        throw new RegistryError(`${url}: ${method} failed: ${describeNetError(e)}`);
      }
      if (url.startsWith('https:')) this.httpsSeen = true;
      if (res.status === 401 && !authTried) {
        authTried = true;
        await res.body?.cancel().catch(() => {});
        await this.authenticate(res.headers.get('www-authenticate'), opts.scope, url);
        attempt--;
        continue;
      }
      if ((res.status === 429 || res.status >= 500) && attempt < MAX_RETRIES && !opts.accept?.includes(res.status)) {
        await res.body?.cancel().catch(() => {});
        await sleep(retryDelay(res, attempt, this.options.backoffMs ?? 200));
        continue;
      }
      if (res.ok || opts.accept?.includes(res.status)) return res;
      const text = new TextDecoder().decode(await readBounded(res, 64 * 1024, url).catch(() => new Uint8Array()));
      throw new RegistryError(`${url}: ${method} → HTTP ${res.status}${summariseErrors(text)}`, res.status);
    }
  }

  /** Paths and same-host URLs (Link, Location) use the scheme in force (it may have fallen back to HTTP on loopback). */
  private absolute(pathOrUrl: string): string {
    if (!/^https?:\/\//.test(pathOrUrl)) return `${this.baseUrl}${pathOrUrl}`;
    const u = new URL(pathOrUrl);
    return u.host === this.host ? `${this.baseUrl}${u.pathname}${u.search}` : pathOrUrl;
  }

  /** Redirects are followed by hand so the Authorization header never leaves the registry's origin. */
  private async send(method: string, url: string, headers: Record<string, string>, body?: Uint8Array): Promise<Response> {
    let current = url;
    const origin = new URL(url).origin;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const h = new URL(current).origin === origin ? headers : withoutAuth(headers);
      const res = await fetch(current, { method, headers: h, body, redirect: 'manual', dispatcher: this.dispatcher });
      // Counted once answered: a refused TLS attempt on a plain-HTTP loopback registry is not an exchange.
      this.stats.requests++;
      this.options.onRequest?.(method, current);
      if (res.status >= 300 && res.status < 400 && res.headers.get('location') && (method === 'GET' || method === 'HEAD')) {
        await res.body?.cancel().catch(() => {});
        const next = new URL(res.headers.get('location')!, current);
        if (next.protocol === 'http:' && !this.options.plainHttp && !isLoopback(next.host))
          throw new RegistryError(`${current}: redirect to plain-HTTP ${next.origin} refused (use --plain-http)`);
        current = next.href;
        continue;
      }
      return res;
    }
    throw new RegistryError(`${url}: more than ${MAX_REDIRECTS} redirects`);
  }

  private authorization(scope: string | undefined): string | undefined {
    const token = this.tokens.get(scope ?? '') ?? this.tokens.get('*');
    if (token) return `Bearer ${token}`;
    return this.basic;
  }

  private creds(): Promise<RegistryCredential | undefined> {
    this.credential ??= this.options.credentials ? this.options.credentials() : Promise.resolve(undefined);
    return this.credential;
  }

  /** Answer a 401 challenge: basic with known credentials, or fetch a bearer token (Docker token spec). */
  private async authenticate(header: string | null, scope: string | undefined, url: string): Promise<void> {
    const ch = header ? parseChallenge(header) : undefined;
    const cred = await this.creds();
    if (!ch || ch.scheme === 'basic') {
      if (!cred?.username || cred.password === undefined)
        throw new RegistryError(
          `${url}: the registry requires authentication and no credentials were found for ${this.host} (docker login, or ~/.docker/config.json)`,
          401,
        );
      if (this.scheme === 'http' && !isLoopback(this.host) && !this.options.plainHttp)
        throw new RegistryError(`${url}: refusing to send a password over plain HTTP`);
      this.basic = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
      return;
    }
    if (ch.scheme !== 'bearer' || !ch.params.realm) throw new RegistryError(`${url}: unsupported authentication challenge "${header}"`, 401);
    const realm = new URL(ch.params.realm, url);
    if (realm.protocol === 'http:' && cred && !isLoopback(realm.host) && !this.options.plainHttp)
      throw new RegistryError(`${url}: token realm ${realm.origin} is plain HTTP; refusing to send credentials`);
    const want = scope ?? ch.params.scope;
    let res: Response;
    if (cred?.identityToken) {
      // OAuth2 refresh-token grant (Docker token spec, "oauth.md"): what credential helpers return as `<token>`.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: cred.identityToken,
        service: ch.params.service ?? '',
        client_id: 'shelflife',
      });
      if (want) form.set('scope', want);
      res = await this.tokenRequest(realm.href, 'POST', { 'content-type': 'application/x-www-form-urlencoded' }, new TextEncoder().encode(form.toString()));
    } else {
      if (ch.params.service) realm.searchParams.set('service', ch.params.service);
      if (want) for (const s of want.split(' ')) realm.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (cred?.username && cred.password !== undefined) headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
      res = await this.tokenRequest(realm.href, 'GET', headers);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new RegistryError(
        `${url}: token request to ${realm.origin}${realm.pathname} → HTTP ${res.status}${res.status === 401 ? ' (bad or missing credentials)' : ''}`,
        res.status,
      );
    }
    let body: { token?: unknown; access_token?: unknown };
    try {
      body = JSON.parse(new TextDecoder().decode(await readBounded(res, 64 * 1024, realm.href)));
    } catch {
      throw new RegistryError(`${url}: token response from ${realm.origin} is not JSON`);
    }
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token || token.length > 16384) throw new RegistryError(`${url}: token response from ${realm.origin} has no usable token`);
    this.tokens.set(scope ?? '*', token);
  }

  private async tokenRequest(url: string, method: string, headers: Record<string, string>, body?: Uint8Array): Promise<Response> {
    this.stats.requests++;
    this.options.onRequest?.(method, url);
    return fetch(url, { method, headers: { 'user-agent': 'shelflife', ...headers }, body, dispatcher: this.dispatcher });
  }

  async getJsonDocument(
    path: string,
    scope: string,
    accept = 'application/json',
  ): Promise<{ bytes: Uint8Array; mediaType?: string; digest?: string; status: number }> {
    const res = await this.request(path, { scope, headers: { accept }, accept: [404] });
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {});
      return { bytes: new Uint8Array(), status: 404 };
    }
    const bytes = await readBounded(res, MAX_DOCUMENT_BYTES, `${this.baseUrl}${path}`);
    this.stats.bytes += bytes.length;
    return {
      bytes,
      status: res.status,
      mediaType: res.headers.get('content-type')?.split(';')[0].trim() || undefined,
      digest: res.headers.get('docker-content-digest') ?? undefined,
    };
  }

  /** Every page of a paginated JSON list (`/v2/_catalog`, `/v2/<name>/tags/list`), following `Link` headers. */
  async *paginate<T>(path: string, scope: string, key: string): AsyncIterable<T> {
    let url: string | undefined = `${this.baseUrl}${path}`;
    const seen = new Set<string>();
    for (let page = 0; url && page < MAX_PAGES; page++) {
      if (seen.has(url)) throw new RegistryError(`${url}: pagination loops`);
      seen.add(url);
      const res: Response = await this.request(url, { scope, headers: { accept: 'application/json' }, accept: [404] });
      if (res.status === 404) {
        await res.body?.cancel().catch(() => {});
        throw new RegistryError(`${url}: not found`, 404);
      }
      const bytes = await readBounded(res, MAX_DOCUMENT_BYTES, url);
      this.stats.bytes += bytes.length;
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        throw new RegistryError(`${url}: response is not JSON`);
      }
      const list = doc[key];
      if (list !== null && list !== undefined && !Array.isArray(list)) throw new RegistryError(`${url}: "${key}" is not a list`);
      for (const item of (list as T[] | null) ?? []) yield item;
      url = nextLink(res.headers.get('link'), url);
    }
  }

  /** Stream a blob. */
  async *blob(repo: string, digest: string): AsyncIterable<Uint8Array> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, { scope: pullScope(repo) });
    if (!res.body) return;
    for await (const chunk of res.body) {
      this.stats.bytes += chunk.length;
      yield chunk;
    }
  }

  /** A blob held in memory (signature payloads, certificates), refused above `limit`. */
  async blobBytes(repo: string, digest: string, limit = MAX_DOCUMENT_BYTES): Promise<Uint8Array> {
    const url = `/v2/${repo}/blobs/${digest}`;
    const res = await this.request(url, { scope: pullScope(repo) });
    const bytes = await readBounded(res, limit, `${this.baseUrl}${url}`);
    this.stats.bytes += bytes.length;
    return bytes;
  }

  /** `Range: bytes=start-(end-1)`; a server that ignores Range (200) is read up to `end` and cut short. */
  async blobRange(repo: string, digest: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array();
    const url = `/v2/${repo}/blobs/${digest}`;
    const res = await this.request(url, { scope: pullScope(repo), headers: { range: `bytes=${start}-${end - 1}` } });
    if (res.status === 206) {
      const bytes = await readBounded(res, end - start, `${this.baseUrl}${url}`);
      this.stats.bytes += bytes.length;
      return bytes;
    }
    const parts: Uint8Array[] = [];
    let pos = 0;
    for await (const chunk of res.body ?? []) {
      this.stats.bytes += chunk.length;
      const c = chunk as Uint8Array;
      const from = Math.max(start - pos, 0);
      const to = Math.min(end - pos, c.length);
      if (to > from) parts.push(c.subarray(from, to));
      pos += c.length;
      if (pos >= end) break;
    }
    await res.body?.cancel().catch(() => {});
    return new Uint8Array(Buffer.concat(parts));
  }

  // ---- write side (used by a re-signer; scanning never calls these) ----

  /** Monolithic upload: POST then PUT `?digest=` (spec "Pushing a blob monolithically"). Returns the digest. */
  async pushBlob(repo: string, bytes: Uint8Array): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const scope = pushScope(repo);
    const head = await this.request(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD', scope, accept: [404] });
    if (head.status === 200) return digest;
    const start = await this.request(`/v2/${repo}/blobs/uploads/`, { method: 'POST', scope });
    await start.body?.cancel().catch(() => {});
    const loc = start.headers.get('location');
    if (!loc) throw new RegistryError(`${this.baseUrl}/v2/${repo}/blobs/uploads/: no Location in the upload response`);
    const put = new URL(loc, this.baseUrl);
    put.searchParams.set('digest', digest);
    // The registry reads a form-encoded body as a form: the Content-Type must be octet-stream.
    const res = await this.request(put.href, {
      method: 'PUT',
      scope,
      body: bytes,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
    });
    await res.body?.cancel().catch(() => {});
    return digest;
  }

  /** PUT a manifest under a tag or its digest. Returns the digest; `subject` is what an OCI 1.1 registry indexes for referrers. */
  async pushManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    const res = await this.request(`/v2/${repo}/manifests/${reference}`, {
      method: 'PUT',
      scope: pushScope(repo),
      body: bytes,
      headers: { 'content-type': mediaType },
    });
    await res.body?.cancel().catch(() => {});
    return res.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  }
}

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}

export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}

function withoutAuth(h: Record<string, string>): Record<string, string> {
  const { authorization: _drop, ...rest } = h;
  return rest;
}

function summariseErrors(text: string): string {
  try {
    const j = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const e = j.errors?.slice(0, 3).map((x) => `${x.code ?? ''}${x.message ? `: ${x.message}` : ''}`);
    if (e?.length) return ` (${e.join('; ').slice(0, 300)})`;
  } catch {
    /* not the spec's error body */
  }
  return text ? ` (${text.slice(0, 200).replace(/\s+/g, ' ')})` : '';
}

function isTlsOrConnectError(e: unknown): boolean {
  const code = errCode(e) ?? '';
  // Only "this is not TLS" (a plain-HTTP server answering a ClientHello), never a certificate failure.
  return code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || code === 'ECONNRESET' || /wrong version number/i.test(describeNetError(e));
}
