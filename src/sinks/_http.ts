/**
 * Shared HTTP plumbing for the HEC and Elastic sinks: one undici Agent with TLS verification always on (optional CA
 * and client certificate), bounded response bodies, and status codes sorted into transient and permanent.
 * @module
 */
import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import { TransientSinkError } from './transport.js';

const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 60_000;

export function httpAgent(o: { caFile?: string; certFile?: string; keyFile?: string }): Agent {
  return new Agent({
    connect: {
      rejectUnauthorized: true,
      ...(o.caFile ? { ca: readFileSync(o.caFile) } : {}),
      ...(o.certFile ? { cert: readFileSync(o.certFile) } : {}),
      ...(o.keyFile ? { key: readFileSync(o.keyFile) } : {}),
    },
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
}

export interface HttpAnswer {
  status: number;
  body: string;
  retryAfterMs?: number;
}

/** RFC 9110 §10.2.3: Retry-After is delay-seconds or an HTTP date. */
function retryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, 60_000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, Math.min(t - Date.now(), 60_000));
}

export async function post(agent: Agent, url: string, label: string, headers: Record<string, string>, body: string): Promise<HttpAnswer> {
  let res;
  try {
    res = await fetch(url, { method: 'POST', headers, body, dispatcher: agent, redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (e) {
    const cause = (e as { cause?: Error }).cause;
    throw new TransientSinkError(`${label}: ${cause?.message ?? (e as Error).message}`);
  }
  const reader = res.body?.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (reader) {
    for (;;) {
      let r;
      try {
        r = await reader.read();
      } catch (e) {
        throw new TransientSinkError(`${label}: response interrupted: ${(e as Error).message}`);
      }
      if (r.done) break;
      total += r.value.length;
      if (total > MAX_RESPONSE_BYTES) {
        await reader.cancel();
        throw new TransientSinkError(`${label}: response larger than ${MAX_RESPONSE_BYTES} bytes`);
      }
      chunks.push(r.value);
    }
  }
  return { status: res.status, body: Buffer.concat(chunks).toString('utf8'), retryAfterMs: retryAfter(res.headers.get('retry-after')) };
}

/** 408, 429 and 5xx are worth retrying; other 4xx are not (the request itself is wrong). */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
