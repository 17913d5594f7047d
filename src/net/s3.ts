/**
 * S3-compatible stores on the one HTTP layer: the AWS SDK (`@aws-sdk/client-s3`) keeps what it does well (the
 * credential chain, SigV4 signing, region redirects, its retries and the XML protocol), and sends every request
 * through src/net/http.ts, so a bucket gets the same idle timeout, deadline, address rules and bounded bodies as a
 * registry or a release store (the SDK's own request timeout only logs a warning; a listing page is parsed whole, so
 * its size is capped here). Instance-metadata credentials are fetched by the SDK's credential provider, never through
 * this handler, so the metadata address stays blocked for everything a server can point us at.
 * @module
 */
import { Readable } from 'node:stream';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { errorMessage } from '../errors.js';
import { HttpClient, HttpError, type HttpMethod, type NetOptions } from './http.js';

/** A listing page (ListObjectsV2, ListObjectVersions, tagging) larger than this is refused: 1,000 keys take ~1 MiB. */
export const MAX_S3_LIST_PAGE_BYTES = 32 * 1024 * 1024;

/** What the SDK hands a request handler (@smithy/types HttpRequest): the fields read here. */
interface SdkRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

/** RFC 3986 unreserved characters only, as the SDK's own query builder writes them (the signature covers them). */
function escape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function queryString(q: SdkRequest['query']): string {
  const parts: string[] = [];
  for (const key of Object.keys(q ?? {}).sort()) {
    const v = q![key];
    if (v === null) parts.push(escape(key));
    else for (const x of Array.isArray(v) ? v : [v]) parts.push(`${escape(key)}=${escape(x)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Requests whose answer the SDK parses whole (XML listings and tag sets), as opposed to an object's bytes. */
function isListing(r: SdkRequest): boolean {
  const q = r.query ?? {};
  return 'list-type' in q || 'versions' in q || 'tagging' in q || 'uploads' in q;
}

function toSignal(s: unknown): AbortSignal | undefined {
  if (!s) return undefined;
  if (s instanceof AbortSignal) return s;
  // The SDK's own AbortSignal class (an older shape): follow it with a real one.
  const c = new AbortController();
  const x = s as { aborted?: boolean; onabort?: (() => void) | null };
  if (x.aborted) c.abort();
  else x.onabort = () => c.abort();
  return c.signal;
}

/** The SDK's request handler (duck-typed: `handle` is what the SDK calls) on src/net's client. */
export class S3HttpHandler {
  private readonly http: HttpClient;

  constructor(options: NetOptions = {}) {
    // The SDK retries (with its own backoff and clock-skew handling); one exchange per call here.
    this.http = new HttpClient({ ...options, retries: 0 });
  }

  async handle(
    request: SdkRequest,
    options: { abortSignal?: unknown } = {},
  ): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Readable } }> {
    const port = request.port ? `:${request.port}` : '';
    const url = `${request.protocol}//${request.hostname}${port}${request.path}${queryString(request.query)}`;
    const headers: Record<string, string> = {};
    // undici refuses `expect` (100-continue) and sets host and framing itself.
    for (const [k, v] of Object.entries(request.headers)) if (!/^(expect|host|transfer-encoding|connection)$/i.test(k)) headers[k] = v;
    const body = request.body;
    const res = await this.http.send(url, {
      method: request.method.toUpperCase() as HttpMethod,
      headers,
      ...(body !== undefined && body !== null ? { body: body as Uint8Array | string | Readable } : {}),
      redirect: 'manual',
      signal: toSignal(options.abortSignal),
    });
    // A listing page, a tag set and an error document are parsed whole by the SDK: their size is capped.
    const cap = isListing(request) || res.status >= 300 ? MAX_S3_LIST_PAGE_BYTES : undefined;
    const chunks = res.body();
    const limited = cap
      ? (async function* () {
          let n = 0;
          for await (const c of chunks) {
            n += c.length;
            if (n > cap) throw new HttpError(`more than the ${cap}-byte limit for one listing page`, { uri: res.url });
            yield c;
          }
        })()
      : chunks;
    return { response: { statusCode: res.status, headers: res.headers, body: Readable.from(limited, { objectMode: false }) } };
  }

  updateHttpClientConfig(): void {
    // Timeouts and limits come from the network options the handler was made with.
  }

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {
    void this.http.close();
  }
}

/**
 * The S3 client the source, the re-signer and provenance use: the SDK's credential chain, region and endpoint settings
 * (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, `AWS_REGION` …), requests through src/net.
 */
export function defaultS3Client(options: NetOptions & { endpoint?: string } = {}, env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const { endpoint: _endpoint, ...net } = options;
  // The SDK warns on Node < 22 at every command's first client (NodeVersionSupportWarning): shelflife supports Node 20
  // (package.json engines) and pins the SDK, so the warning is noise in every scan's output. Its documented switch,
  // read when a client is made; a user who set it either way keeps their choice.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config: S3ClientConfig = {
    // A custom endpoint (MinIO, Ceph, moto …) rarely has wildcard DNS for virtual-hosted buckets.
    forcePathStyle: endpoint ? env.AWS_S3_FORCE_PATH_STYLE !== 'false' : env.AWS_S3_FORCE_PATH_STYLE === 'true',
    followRegionRedirects: true,
    requestHandler: new S3HttpHandler(net),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  };
  // The JS SDK ignores AWS_DEFAULT_REGION (the CLI's name); without any region setting, S3 answers redirects.
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region) config.region = region;
  else if (!env.AWS_PROFILE && !env.AWS_CONFIG_FILE) config.region = 'us-east-1';
  return new S3Client(config);
}

/** An SDK error in a few words: the S3 error code, the reason, the HTTP status. */
export function describeAwsError(e: unknown): string {
  const x = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  const status = x?.$metadata?.httpStatusCode;
  const name = x?.Code ?? x?.name;
  return `${name && name !== 'Error' && name !== 'ShelflifeError' ? `${name}: ` : ''}${errorMessage(e)}${status ? ` (HTTP ${status})` : ''}`;
}
