/**
 * Digests a signature check asks of a signed artifact (src/scan/signature-checks.ts `DigestRequest`), satisfied in the
 * cheapest way: the SHA-256 the scan already computed, else one streamed pass over the bytes that computes every
 * request at once, together with SHA-256 to prove the bytes are the ones the scan saw. Nothing is buffered.
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { CanonicalText, type DigestRequest } from './signature-checks.js';

/** A request the scan's own SHA-256 already answers. */
export function answeredBySha256(r: DigestRequest): boolean {
  return r.hash === 'sha256' && !r.prefix && !r.suffix && !r.text && !r.range;
}

/** A stable key for a request, so one pass computes each distinct digest once. */
export function requestKey(r: DigestRequest): string {
  const hex = (b?: Uint8Array) => (b ? Buffer.from(b).toString('hex') : '');
  return [r.hash, r.outputLength ?? '', hex(r.prefix), hex(r.suffix), r.text ? 't' : '', r.range ? r.range.join('-') : ''].join('|');
}

interface Running {
  r: DigestRequest;
  h: Hash;
  text?: CanonicalText;
}

/**
 * One pass over `stream` computing every request (and the whole stream's SHA-256). `expectedSha256`: when the bytes
 * read are not those, the result says so instead of giving digests of other bytes.
 */
export async function digestsOver(
  stream: AsyncIterable<Uint8Array>,
  requests: readonly DigestRequest[],
  expectedSha256: string | null,
): Promise<{ digests: Map<string, Uint8Array> } | { changed: string }> {
  const running = new Map<string, Running>();
  for (const r of requests) {
    const k = requestKey(r);
    if (running.has(k)) continue;
    const h = createHash(r.hash, r.outputLength ? { outputLength: r.outputLength } : {});
    if (r.prefix) h.update(r.prefix);
    running.set(k, { r, h, ...(r.text ? { text: new CanonicalText() } : {}) });
  }
  const whole = createHash('sha256');
  let offset = 0;
  for await (const chunk of stream) {
    whole.update(chunk);
    const start = offset;
    offset += chunk.length;
    for (const x of running.values()) {
      let part = chunk;
      if (x.r.range) {
        const [a, b] = x.r.range;
        if (offset <= a || start >= b) continue;
        part = chunk.subarray(Math.max(0, a - start), Math.min(chunk.length, b - start));
      }
      x.h.update(x.text ? x.text.push(part) : part);
    }
  }
  const sha = whole.digest('hex');
  if (expectedSha256 && sha !== expectedSha256)
    return { changed: `its bytes changed since they were scanned (SHA-256 ${sha.slice(0, 16)}…, scanned ${expectedSha256.slice(0, 16)}…)` };
  const digests = new Map<string, Uint8Array>();
  for (const [k, x] of running) {
    if (x.text) x.h.update(x.text.end());
    if (x.r.suffix) x.h.update(x.r.suffix);
    digests.set(k, new Uint8Array(x.h.digest()));
  }
  return { digests };
}
