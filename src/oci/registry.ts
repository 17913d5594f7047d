/**
 * The OCI Distribution client (distribution-spec v1.1) the scanner and the re-signer share, on the one HTTP layer
 * (src/net/http.ts): auth (anonymous, basic, the bearer-token challenge of the Docker token spec, OAuth2 refresh
 * tokens from credential helpers), `Link` pagination (RFC 8288), bounded documents, blob streams held to their
 * descriptor (digest and size), range reads, and the write calls a re-signer needs (push blob, push manifest).
 *
 * Where credentials go (docs/security.md "Network and credentials"): only to the registry they were configured for,
 * host and port as written, over HTTPS (or plain HTTP on loopback, or with `--plain-http` to that registry). A token
 * realm on another host gets them only when the user listed that host (`--registry-auth-host`); otherwise the token
 * is asked for anonymously. Every URL a registry hands back (pagination links, upload locations) must stay on the
 * registry; redirects follow src/net's rules and never carry the credentials off the registry's origin.
 * @module
 */
import { createHash } from 'node:crypto';
import { type ErrorDetails, LimitError, ShelflifeError, UsageError } from '../errors.js';
import { hostnameOf, isLoopback } from '../net/address.js';
import { HttpClient, HttpError, asList, readPrefix, errCode, describeNetError, type HttpResponse, type HttpStats, type NetOptions } from '../net/http.js';
import { redactSecrets } from '../net/secrets.js';
import type { RegistryCredential } from './docker-auth.js';
import { pullScope, pushScope } from './reference.js';

/** Manifests, indexes, tag-list pages and token responses larger than this are refused (the spec suggests 4 MiB). */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
/** Catalog and tag-list pages followed before the listing stops with a limit error. */
export const MAX_PAGES = 10_000;
const MAX_ERROR_BODY = 64 * 1024;
/** A registry that ignores Range is read from the first byte only this far (a window near the start of a blob). */
const MAX_UNRANGED_READ = 64 * 1024 * 1024;
const MAX_TOKEN_RESPONSE = 64 * 1024;

export interface RegistryClientOptions extends NetOptions {
  /** Allow plain HTTP to a non-loopback registry (`--plain-http`). */
  plainHttp?: boolean;
  /** Credentials for the registry host (docker config, a URI's userinfo); looked up once, lazily. */
  credentials?: () => Promise<RegistryCredential | undefined>;
  /** Token-realm hosts besides the registry that may receive its credentials (`--registry-auth-host`). */
  authHosts?: string | string[];
}

export class RegistryError extends ShelflifeError {
  readonly status?: number;
  constructor(message: string, details: ErrorDetails & { status?: number } = {}) {
    super('remote', message, details);
    this.status = details.status;
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
export function nextLink(header: string | null | undefined, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = part.match(/^\s*<([^>]*)>\s*;(.*)$/);
    if (m && /\brel\s*=\s*"?next"?/i.test(m[2])) return new URL(m[1], base).href;
  }
  return undefined;
}

export interface RequestOptions {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Token scope for the bearer flow, e.g. `repository:foo/bar:pull`. */
  scope?: string;
  /** Statuses returned to the caller instead of thrown. */
  accept?: number[];
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * One client per registry host. Reusable by a writer: `pushBlob` / `pushManifest` take the same auth path with a
 * `push` scope.
 */
export class RegistryClient {
  private scheme: 'https' | 'http';
  private readonly http: HttpClient;
  private readonly tokens = new Map<string, string>();
  private basic?: string;
  private credential?: Promise<RegistryCredential | undefined>;
  private readonly authHosts: string[];
  /** Set after the first 404 from the referrers endpoint: this registry has no referrers API (spec §"Listing Referrers"). */
  referrersUnsupported = false;
  /** An HTTPS exchange succeeded: never fall back to plain HTTP after that. */
  private httpsSeen = false;

  constructor(
    readonly host: string,
    private readonly options: RegistryClientOptions = {},
  ) {
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(host))
      throw new UsageError('not a registry host[:port]', { uri: `oci://${host.replace(/^[^@]*@/, '')}` });
    this.scheme = options.plainHttp ? 'http' : 'https';
    this.http = new HttpClient(options);
    this.authHosts = asList(options.authHosts)
      .flatMap((s) => s.split(','))
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
  }

  get baseUrl(): string {
    return `${this.scheme}://${this.host}`;
  }

  get stats(): HttpStats {
    return this.http.stats;
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /** A request against the registry: a path starting with `/v2/`, or an absolute URL on the registry (Link, Location). */
  async request(pathOrUrl: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const method = opts.method ?? 'GET';
    let authTried = false;
    for (;;) {
      const url = this.absolute(pathOrUrl);
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      const auth = this.authorization(opts.scope);
      if (auth) headers.authorization = auth;
      let res: HttpResponse;
      try {
        res = await this.http.send(url, { method, headers, body: opts.body });
      } catch (e) {
        // Loopback registries are often plain HTTP: fall back once, as docker does for localhost.
        if (url.startsWith('https:') && !this.httpsSeen && isLoopback(this.host) && isNotTls(e)) {
          this.scheme = 'http';
          continue;
        }
        throw e instanceof HttpError ? new RegistryError(e.message, { uri: e.uri, status: e.status, cause: e }) : e;
      }
      if (url.startsWith('https:')) this.httpsSeen = true;
      if (res.status === 401 && !authTried) {
        authTried = true;
        await res.discard();
        await this.authenticate(res.headers['www-authenticate'], opts.scope, url);
        continue;
      }
      if ((res.status >= 200 && res.status < 300) || opts.accept?.includes(res.status)) return res;
      let text = '';
      try {
        text = new TextDecoder().decode(await res.bytes(MAX_ERROR_BODY));
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        // An unreadable error body: the status alone is reported.
      }
      throw new RegistryError(`${method} → HTTP ${res.status}${this.summariseErrors(text)}`, { uri: url, status: res.status });
    }
  }

  /** Paths and URLs on the registry use the scheme in force (it may have fallen back to HTTP on loopback). */
  private absolute(pathOrUrl: string): string {
    if (!/^https?:\/\//i.test(pathOrUrl)) return `${this.baseUrl}${pathOrUrl}`;
    const u = new URL(pathOrUrl);
    // A URL the registry handed back (a pagination link, an upload location) on another host is not followed: the
    // request would carry the registry's credentials, or reach a host the user never named.
    if (u.host.toLowerCase() !== this.host.toLowerCase())
      throw new RegistryError(`the registry pointed to ${u.protocol}//${u.host}, another host; not followed`, { uri: this.baseUrl });
    return `${this.baseUrl}${u.pathname}${u.search}`;
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

  /** May `realm` receive the registry's credentials? The registry itself (host and port as written), or a listed host. */
  private realmTrusted(realm: URL): boolean {
    if (realm.host.toLowerCase() === this.host.toLowerCase()) return true;
    return this.authHosts.some((h) => h === realm.host.toLowerCase() || (!h.includes(':') && h === hostnameOf(realm.host)));
  }

  /** Plain HTTP carries a password only to loopback, or to the registry itself when the user allowed plain HTTP. */
  private cleartextAllowed(u: URL): boolean {
    if (u.protocol === 'https:' || isLoopback(u.host)) return true;
    return !!this.options.plainHttp && u.host.toLowerCase() === this.host.toLowerCase();
  }

  /** Answer a 401 challenge: basic with known credentials, or fetch a bearer token (Docker token spec). */
  private async authenticate(header: string | undefined, scope: string | undefined, url: string): Promise<void> {
    const ch = header ? parseChallenge(header) : undefined;
    const cred = await this.creds();
    const hasPassword = !!cred?.username && cred.password !== undefined;
    if (!ch || ch.scheme === 'basic') {
      if (!hasPassword)
        throw new RegistryError(
          `the registry requires authentication and no credentials were found for ${this.host} (docker login, or ~/.docker/config.json)`,
          { uri: url, status: 401 },
        );
      if (!this.cleartextAllowed(new URL(url))) throw new RegistryError('refusing to send a password over plain HTTP', { uri: url });
      this.basic = `Basic ${Buffer.from(`${cred!.username}:${cred!.password}`).toString('base64')}`;
      return;
    }
    if (ch.scheme !== 'bearer' || !ch.params.realm)
      throw new RegistryError(`unsupported authentication challenge "${header!.slice(0, 200)}"`, { uri: url, status: 401 });
    let realm: URL;
    try {
      realm = new URL(ch.params.realm, url);
    } catch {
      throw new RegistryError(`token realm "${ch.params.realm.slice(0, 200)}" is not a URL`, { uri: url, status: 401 });
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new RegistryError(`token realm ${realm.protocol} refused`, { uri: url, status: 401 });
    // Credentials go to the realm only when it is the registry itself or a host the user named; otherwise the token
    // is asked for anonymously (enough for public images).
    const send = cred && this.realmTrusted(realm) ? cred : undefined;
    if (send && !this.cleartextAllowed(realm)) throw new RegistryError(`token realm ${realm.origin} is plain HTTP; refusing to send credentials`, { uri: url });
    const want = scope ?? ch.params.scope;
    let res: HttpResponse;
    if (send?.identityToken) {
      // OAuth2 refresh-token grant (Docker token spec, "oauth.md"): what credential helpers return as `<token>`.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: send.identityToken,
        service: ch.params.service ?? '',
        client_id: 'shelflife',
      });
      if (want) form.set('scope', want);
      res = await this.tokenRequest(realm, 'POST', { 'content-type': 'application/x-www-form-urlencoded' }, new TextEncoder().encode(form.toString()));
    } else {
      if (ch.params.service) realm.searchParams.set('service', ch.params.service);
      if (want) for (const s of want.split(' ')) realm.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (send?.username && send.password !== undefined) headers.authorization = `Basic ${Buffer.from(`${send.username}:${send.password}`).toString('base64')}`;
      res = await this.tokenRequest(realm, 'GET', headers);
    }
    if (res.status < 200 || res.status >= 300) {
      await res.discard();
      throw new RegistryError(
        `token request to ${realm.origin}${realm.pathname} → HTTP ${res.status}${res.status === 401 ? ' (bad or missing credentials)' : ''}`,
        { uri: url, status: res.status },
      );
    }
    let body: { token?: unknown; access_token?: unknown };
    try {
      body = JSON.parse(new TextDecoder().decode(await res.bytes(MAX_TOKEN_RESPONSE)));
    } catch (e) {
      if (e instanceof HttpError) throw new RegistryError(e.message, { uri: e.uri, cause: e });
      throw new RegistryError(`token response from ${realm.origin} is not JSON`, { uri: url });
    }
    const token = typeof body?.token === 'string' ? body.token : typeof body?.access_token === 'string' ? body.access_token : undefined;
    if (!token || token.length > 16384) throw new RegistryError(`token response from ${realm.origin} has no usable token`, { uri: url });
    this.tokens.set(scope ?? '*', token);
  }

  private async tokenRequest(realm: URL, method: 'GET' | 'POST', headers: Record<string, string>, body?: Uint8Array): Promise<HttpResponse> {
    try {
      return await this.http.send(realm.href, { method, headers, body });
    } catch (e) {
      throw e instanceof HttpError ? new RegistryError(e.message, { uri: e.uri, status: e.status, cause: e }) : e;
    }
  }

  /** The spec's error body (`{"errors":[{code,message}]}`) in a few words, with anything secret cut out. */
  private summariseErrors(text: string): string {
    let out = '';
    try {
      const j = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      const e = j?.errors?.slice(0, 3).map((x) => `${x?.code ?? ''}${x?.message ? `: ${x.message}` : ''}`);
      if (e?.length) out = ` (${e.join('; ').slice(0, 300)})`;
    } catch {
      // Not the spec's error body: a short excerpt below.
    }
    if (!out && text) out = ` (${text.slice(0, 200).replace(/\s+/g, ' ')})`;
    return redactSecrets(out, [...this.tokens.values(), this.basic?.slice(6)]);
  }

  async getJsonDocument(
    path: string,
    scope: string,
    accept = 'application/json',
  ): Promise<{ bytes: Uint8Array; mediaType?: string; digest?: string; status: number; next?: string }> {
    const res = await this.request(path, { scope, headers: { accept }, accept: [404] });
    if (res.status === 404) {
      await res.discard();
      return { bytes: new Uint8Array(), status: 404 };
    }
    const bytes = await this.read(res, MAX_DOCUMENT_BYTES);
    const next = nextLink(res.headers.link, this.absolute(path));
    return {
      bytes,
      status: res.status,
      // RFC 8288 `Link: <…>; rel="next"` (paginated referrers): followed only through `request`, so only on the registry.
      ...(next ? { next } : {}),
      mediaType: res.headers['content-type']?.split(';')[0].trim() || undefined,
      digest: res.headers['docker-content-digest'] ?? undefined,
    };
  }

  private async read(res: HttpResponse, limit: number): Promise<Uint8Array> {
    try {
      return await res.bytes(limit);
    } catch (e) {
      throw e instanceof HttpError ? new RegistryError(e.message, { uri: e.uri, status: e.status, cause: e }) : e;
    }
  }

  /**
   * Every page of a paginated JSON list (`/v2/_catalog`, `/v2/<name>/tags/list`), following `Link` headers on the
   * registry. A loop, a link off the registry and the page cap are errors (thrown after the items already read).
   */
  async *paginate<T>(path: string, scope: string, key: string): AsyncIterable<T> {
    let url: string | undefined = `${this.baseUrl}${path}`;
    const seen = new Set<string>();
    for (let page = 0; url; page++) {
      if (page >= MAX_PAGES)
        throw new LimitError('limit-entries', `more than ${MAX_PAGES} pages; the rest of the listing was not read`, { uri: `${this.baseUrl}${path}` });
      if (seen.has(url)) throw new RegistryError('pagination loops', { uri: url });
      seen.add(url);
      const res: HttpResponse = await this.request(url, { scope, headers: { accept: 'application/json' }, accept: [404] });
      if (res.status === 404) {
        await res.discard();
        throw new RegistryError('not found', { uri: url, status: 404 });
      }
      const bytes = await this.read(res, MAX_DOCUMENT_BYTES);
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        throw new RegistryError('response is not JSON', { uri: url });
      }
      const list = doc?.[key];
      if (list !== null && list !== undefined && !Array.isArray(list)) throw new RegistryError(`"${key}" is not a list`, { uri: url });
      for (const item of (list as T[] | null) ?? []) yield item;
      url = nextLink(res.headers.link, url);
    }
  }

  /**
   * Stream a blob, held to its descriptor: the stream is cut at the declared `size` (a blob that runs on is an error,
   * not an endless read), and at its end the bytes must hash to `digest`; each open of the blob checks again, so a
   * registry serving other bytes on a second GET is caught.
   */
  blob(repo: string, digest: string, size?: number): AsyncIterable<Uint8Array> {
    const self = this;
    const what = `oci://${this.host}/${repo}@${digest}`;
    return (async function* () {
      const res = await self.request(`/v2/${repo}/blobs/${digest}`, { scope: pullScope(repo) });
      const length = Number(res.headers['content-length'] ?? NaN);
      if (size !== undefined && Number.isFinite(length) && length !== size) {
        await res.discard();
        throw new RegistryError(`the registry sends ${length} bytes for a blob whose descriptor says ${size}`, { uri: what });
      }
      const hash = createHash('sha256');
      let n = 0;
      for await (const chunk of res.body()) {
        if (size !== undefined && n + chunk.length > size) {
          hash.update(chunk.subarray(0, size - n));
          yield chunk.subarray(0, size - n);
          throw new ShelflifeError('limit-size', `the blob runs past its declared size of ${size} bytes; cut there`, { uri: what });
        }
        n += chunk.length;
        hash.update(chunk);
        yield chunk;
      }
      if (size !== undefined && n < size) throw new RegistryError(`the blob ended after ${n} of its declared ${size} bytes`, { uri: what });
      const got = `sha256:${hash.digest('hex')}`;
      if (digest.startsWith('sha256:') && got !== digest)
        throw new ShelflifeError('malformed', `the registry served bytes whose digest is ${got}`, { uri: what });
    })();
  }

  /** A blob held in memory (signature payloads, certificates), refused above `limit`, checked against its digest. */
  async blobBytes(repo: string, digest: string, limit = MAX_DOCUMENT_BYTES): Promise<Uint8Array> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, { scope: pullScope(repo) });
    const bytes = await this.read(res, limit);
    if (digest.startsWith('sha256:') && sha256(bytes) !== digest)
      throw new ShelflifeError('malformed', `oci://${this.host}/${repo}@${digest}: the registry served bytes whose digest is ${sha256(bytes)}`);
    return bytes;
  }

  /**
   * `Range: bytes=start-(end-1)`; a registry that ignores Range (200) is read up to `end` and cut there, never further,
   * and only when `end` is near the start (a tail window of a huge blob is refused instead).
   */
  async blobRange(repo: string, digest: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array();
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, { scope: pullScope(repo), headers: { range: `bytes=${start}-${end - 1}` } });
    if (res.status === 206) return this.read(res, end - start);
    // A registry that ignores Range answers from the first byte: reading on to a far offset would download the blob.
    if (end > MAX_UNRANGED_READ) {
      await res.discard();
      throw new RegistryError(`the registry ignored the Range request; not reading ${end} bytes to reach offset ${start}`, {
        uri: `oci://${this.host}/${repo}@${digest}`,
      });
    }
    return readPrefix(res, start, end);
  }

  // ---- write side (used by a re-signer; scanning never calls these) ----

  /** Monolithic upload: POST then PUT `?digest=` (spec "Pushing a blob monolithically"). Returns the digest. */
  async pushBlob(repo: string, bytes: Uint8Array): Promise<string> {
    const digest = sha256(bytes);
    const scope = pushScope(repo);
    const head = await this.request(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD', scope, accept: [404] });
    await head.discard();
    if (head.status === 200) return digest;
    const start = await this.request(`/v2/${repo}/blobs/uploads/`, { method: 'POST', scope });
    await start.discard();
    const loc = start.headers.location;
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
    await res.discard();
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
    await res.discard();
    return res.headers['docker-content-digest'] ?? sha256(bytes);
  }
}

/** A plain-HTTP server answering a TLS ClientHello: never a certificate failure (that must stay an error). */
function isNotTls(e: unknown): boolean {
  const code = errCode((e as { cause?: unknown })?.cause ?? e) ?? '';
  return code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || code === 'ECONNRESET' || /wrong version number/i.test(describeNetError(e));
}
