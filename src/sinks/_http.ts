/**
 * HTTP for the HEC and Elastic sinks, on the one HTTP layer (src/net/http.ts): TLS verification always on (the
 * sink's own CA when given, and an optional client certificate), no redirects followed (a receiver that redirects is
 * misconfigured, and the token must not travel), an idle timeout and a deadline per request, bounded response bodies
 * with the token cut out of them (a receiver that echoes the token in an error must not get it printed), and status
 * codes sorted into transient and permanent. Delivery retries are the spool's (src/sinks/deliver.ts), not this layer's.
 * @module
 */
import { HttpClient, HttpError } from '../net/http.js';
import { redactSecrets } from '../net/secrets.js';
import { TransientSinkError } from './transport.js';

const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 60_000;

export function sinkHttp(o: { caFile?: string; certFile?: string; keyFile?: string }): HttpClient {
  return new HttpClient({
    ...(o.caFile ? { ca: o.caFile, caReplacesRoots: true } : {}),
    ...(o.certFile && o.keyFile ? { clientCert: { cert: o.certFile, key: o.keyFile } } : {}),
    timeoutMs: REQUEST_TIMEOUT_MS,
    deadlineMs: REQUEST_TIMEOUT_MS,
    retries: 0,
  });
}

export interface HttpAnswer {
  status: number;
  /** The response body, with the request's secrets removed. */
  body: string;
  retryAfterMs?: number;
}

/** RFC 9110 §10.2.3: Retry-After is delay-seconds or an HTTP date. */
function retryAfter(v: string | undefined): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, 60_000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, Math.min(t - Date.now(), 60_000));
}

/** POST once; network failures are transient (the events stay spooled), `secrets` never appear in the answer. */
export async function post(
  http: HttpClient,
  url: string,
  label: string,
  headers: Record<string, string>,
  body: string,
  secrets: readonly (string | undefined)[] = [],
): Promise<HttpAnswer> {
  try {
    const res = await http.send(url, { method: 'POST', headers, body, redirect: 'manual' });
    const bytes = await res.bytes(MAX_RESPONSE_BYTES);
    return { status: res.status, body: redactSecrets(Buffer.from(bytes).toString('utf8'), secrets), retryAfterMs: retryAfter(res.headers['retry-after']) };
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    throw new TransientSinkError(redactSecrets(e.message, secrets), { uri: label });
  }
}

/** 408, 429 and 5xx are worth retrying; other 4xx are not (the request itself is wrong). */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
