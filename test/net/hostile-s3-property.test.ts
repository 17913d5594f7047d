/**
 * Issue 21's property for buckets: whatever an S3 endpoint serves for its listings and its objects (statuses, drips,
 * silence, endless or garbage bodies, bodies longer than listed, looping tokens, redirects anywhere), the scan ends
 * within its deadlines, under a memory cap, names the limits it reached, and reports no finding the real object
 * does not hold.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ScanResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import { endless, startHostile } from '../helpers/hostile-servers.js';

const LISTING = ['ok', '500', '403', 'drip', 'silence', 'garbage', 'huge', 'token-loop', 'redirect-metadata', 'redirect-other'] as const;
const OBJECT = ['ok', '500', '403', 'drip', 'silence', 'endless', 'longer-than-listed', 'garbage', 'redirect-metadata'] as const;
type ListingBehaviour = (typeof LISTING)[number];
type ObjectBehaviour = (typeof OBJECT)[number];

/** What the report must say when a request met a limit: the limit, by name. */
const NAMED: Partial<Record<ListingBehaviour | ObjectBehaviour, RegExp>> = {
  drip: /deadline|idle timeout/,
  silence: /idle timeout|deadline/,
  'token-loop': /loop|repeat/,
};

const KEY = Buffer.from(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);

const listing = (token?: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><IsTruncated>${token ? 'true' : 'false'}</IsTruncated>${
    token ? `<NextContinuationToken>${token}</NextContinuationToken>` : ''
  }<Contents><Key>k.pem</Key><LastModified>2025-01-01T00:00:00.000Z</LastModified><ETag>"e"</ETag><Size>${KEY.length}</Size></Contents></ListBucketResult>`;

function xml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body);
}

/** Answers as `b` says; false when the request gets the real answer. */
function misbehave(b: ListingBehaviour | ObjectBehaviour, res: ServerResponse, port: number, url: string): boolean {
  switch (b) {
    case 'ok':
    case 'token-loop':
      return false;
    case '500':
      xml(res, 500, '<Error><Code>InternalError</Code><Message>no</Message></Error>');
      return true;
    case '403':
      xml(res, 403, '<Error><Code>AccessDenied</Code><Message>no</Message></Error>');
      return true;
    case 'drip': {
      res.writeHead(200, { 'content-type': 'application/xml', 'content-length': 100_000 });
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), 100);
      res.on('close', () => clearInterval(t));
      return true;
    }
    case 'silence':
      res.writeHead(200, { 'content-type': 'application/xml', 'content-length': 5000 });
      res.write('<');
      return true;
    case 'garbage':
      res.writeHead(200, { 'content-type': 'application/xml', 'content-length': 11 }).end('<a><b></a>&');
      return true;
    case 'huge':
      res.writeHead(200, { 'content-type': 'application/xml', 'content-length': 40 * 2 ** 20 }).end(Buffer.alloc(40 * 2 ** 20, 0x20));
      return true;
    case 'endless': {
      endless(res, { 'content-type': 'application/octet-stream' }, 0x41);
      return true;
    }
    case 'longer-than-listed':
      res
        .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': KEY.length + 4096 })
        .end(Buffer.concat([KEY, Buffer.alloc(4096, 0x41)]));
      return true;
    case 'redirect-metadata':
      res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/', 'content-length': 0 }).end();
      return true;
    case 'redirect-other':
      res.writeHead(307, { location: `http://localhost:${port}${url}`, 'content-length': 0 }).end();
      return true;
  }
}

const errorsText = (r: ScanResult) => r.artifacts.flatMap((a) => a.errors.map((e) => `${e.code} ${e.message}`)).join('\n');

Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' });

describe('whatever an S3 endpoint serves', () => {
  it('the scan ends within its deadlines, under a memory cap, naming every limit it reached', async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ listing: fc.constantFrom(...LISTING), object: fc.constantFrom(...OBJECT) }), async (b) => {
        const met = new Set<ListingBehaviour | ObjectBehaviour>();
        let port = 0;
        const s = await startHostile((req, res) => {
          if (!req.headers.host?.startsWith('127.0.0.1')) return xml(res, 404, '<Error><Code>NoSuchKey</Code></Error>');
          const u = new URL(req.url ?? '/', 'http://x');
          if (u.searchParams.has('list-type')) {
            if (b.listing !== 'ok') met.add(b.listing);
            if (misbehave(b.listing, res, port, req.url ?? '/')) return;
            // A looping endpoint hands out the same continuation token forever.
            return xml(res, 200, listing(b.listing === 'token-loop' ? 'T' : undefined));
          }
          if (b.object !== 'ok') met.add(b.object);
          if (misbehave(b.object, res, port, req.url ?? '/')) return;
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': KEY.length, etag: '"e"' }).end(KEY);
        });
        port = s.port;
        try {
          const t0 = Date.now();
          const before = process.memoryUsage().rss;
          const r = await scan({
            targets: ['s3://bkt/'],
            scoring: false,
            sourceOptions: { endpoint: s.url, backoffMs: 1, timeoutMs: 400, deadlineMs: 1000, digest: 'full' },
          });
          // Every request is bounded by its deadline, and a bucket of one object takes a handful of them.
          expect(Date.now() - t0).toBeLessThan(30_000);
          expect((process.memoryUsage().rss - before) / 2 ** 20).toBeLessThan(300);
          const text = errorsText(r);
          for (const m of met) if (NAMED[m]) expect(text, `${m} met; report:\n${text}`).toMatch(NAMED[m]!);
          // Nothing of the hostile answers becomes a finding: the only one is the real key's.
          for (const a of r.artifacts) for (const f of a.findings) expect(f.kind).toBe('private-key');
          // A real object read whole is never reported under a digest of other bytes.
          const k = r.artifacts.find((a) => a.uri === 's3://bkt/k.pem');
          if (k?.findings.length && k.sha256 && b.object === 'ok') expect(k.errors).toEqual([]);
        } finally {
          await s.close();
        }
      }),
      { numRuns: 25 },
    );
  }, 600_000);
});
