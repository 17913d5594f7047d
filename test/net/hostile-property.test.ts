/**
 * Issue 21's property: whatever a registry serves (statuses, redirects anywhere, drips, silence, endless or garbage
 * bodies, colliding keys, links off the registry), the scan ends within its deadlines, under a memory cap, and every
 * limit it reached is named in the report.
 */
import { generateKeyPairSync } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ScanResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import { endless, json, startMemoryRegistry } from '../helpers/hostile-servers.js';
import { tar } from '../helpers/registry.js';

const BEHAVIOURS = [
  'ok',
  '404',
  '500',
  '429-long',
  '401-odd',
  'drip',
  'silence',
  'huge',
  'endless',
  'redirect-other',
  'redirect-metadata',
  'redirect-loop',
  'garbage',
  'truncated',
  'link-other',
  'link-self',
] as const;
type Behaviour = (typeof BEHAVIOURS)[number];

/** What the report must say when a request met a limit: the limit, by name. */
const NAMED: Partial<Record<Behaviour, RegExp>> = {
  drip: /deadline/,
  // A blob's or layer's silent answer declares 5000 bytes where its descriptor says fewer: refused on the header, named.
  silence: /idle timeout|deadline|descriptor says/,
  huge: /byte limit/,
  endless: /byte limit|deadline|declared size/,
  'redirect-metadata': /never fetched/,
  'redirect-other': /redirects stay on/,
  'redirect-loop': /redirect loop|more than 5 redirects/,
};

const KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

/** Followed links are refused, by name, where the client follows them: tag lists and referrers pages. */
const NAMED_IN_LISTINGS: Partial<Record<Behaviour, RegExp>> = {
  'link-other': /another host; not followed/,
  'link-self': /pagination loops|pages loop/,
};

/** What a listing page holds when it is answered with a link: a page of the right kind, for each of them. */
const page = (kind: string) =>
  kind === 'referrers' ? { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] } : { name: 'app', tags: ['v1'] };

function misbehave(b: Behaviour, req: IncomingMessage, res: ServerResponse, port: number, kind: string): boolean {
  switch (b) {
    case 'ok':
      return false;
    case '404':
    case '500':
      json(res, Number(b), { errors: [{ code: 'X', message: 'no' }] });
      return true;
    case '429-long':
      res.writeHead(429, { 'retry-after': '100000', 'content-length': 0 }).end();
      return true;
    case '401-odd':
      res.writeHead(401, { 'www-authenticate': 'Negotiate xyz', 'content-length': 0 }).end();
      return true;
    case 'drip': {
      res.writeHead(200, { 'content-length': 100_000, 'content-type': 'application/json' });
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), 100);
      res.on('close', () => clearInterval(t));
      return true;
    }
    case 'silence':
      res.writeHead(200, { 'content-length': 5000, 'content-type': 'application/json' });
      res.write('{');
      return true;
    case 'huge':
      res.writeHead(200, { 'content-length': 6 * 2 ** 20, 'content-type': 'application/json' }).end(Buffer.alloc(6 * 2 ** 20, 0x20));
      return true;
    case 'endless': {
      endless(res, { 'content-type': 'application/json' }, 0x20);
      return true;
    }
    case 'redirect-other':
      res.writeHead(307, { location: `http://localhost:${port}${req.url}`, 'content-length': 0 }).end();
      return true;
    case 'redirect-metadata':
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/', 'content-length': 0 }).end();
      return true;
    case 'redirect-loop':
      res.writeHead(302, { location: `${req.url?.split('?')[0]}?x=${Math.random()}`, 'content-length': 0 }).end();
      return true;
    case 'garbage':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 9 }).end('{"a":[1,,');
      return true;
    case 'truncated':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
      res.write('{"schemaVersion":');
      setTimeout(() => res.socket?.destroy(), 10);
      return true;
    case 'link-other':
      json(res, 200, page(kind), { link: `<http://localhost:${port}${req.url?.split('?')[0]}?last=v1>; rel="next"` });
      return true;
    case 'link-self':
      json(res, 200, page(kind), { link: `<${req.url}>; rel="next"` });
      return true;
  }
}

const errorsText = (r: ScanResult) => r.artifacts.flatMap((a) => a.errors.map((e) => `${e.code} ${e.message}`)).join('\n');

describe('whatever a registry serves', () => {
  it('the scan ends within its deadlines, under a memory cap, naming every limit it reached', async () => {
    const behaviour = fc.constantFrom(...BEHAVIOURS);
    await fc.assert(
      fc.asyncProperty(fc.record({ tags: behaviour, manifest: behaviour, referrers: behaviour, blob: behaviour, layer: behaviour }), async (b) => {
        const reg = await startMemoryRegistry();
        try {
          const key = reg.blob(KEY, 'application/x-pem-file', { 'org.opencontainers.image.title': 'k.pem' });
          const layer = reg.blob(new Uint8Array(gzipSync(tar({ 'etc/k.pem': KEY }))), 'application/vnd.oci.image.layer.v1.tar+gzip');
          const config = reg.blob('{}', 'application/vnd.oci.image.config.v1+json');
          reg.manifest('app', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [key, layer] }, 'v1');
          const kindOf = (url: string): keyof typeof b | undefined =>
            url.includes('/tags/list')
              ? 'tags'
              : url.includes('/referrers/')
                ? 'referrers'
                : url.includes(`/blobs/${key.digest}`)
                  ? 'blob'
                  : url.includes(`/blobs/${layer.digest}`)
                    ? 'layer'
                    : url.includes('/manifests/')
                      ? 'manifest'
                      : undefined;
          const met = new Set<Behaviour>();
          const metInListings = new Set<Behaviour>();
          reg.intercept = (req, res) => {
            const kind = kindOf(req.url ?? '');
            if (!kind || !req.headers.host?.startsWith('127.0.0.1')) return false;
            if (b[kind] !== 'ok') met.add(b[kind]);
            if (kind === 'tags' || kind === 'referrers') metInListings.add(b[kind]);
            return misbehave(b[kind], req, res, reg.port, kind);
          };
          const t0 = Date.now();
          const before = process.memoryUsage().rss;
          const r = await scan({
            targets: [`oci://${reg.host}/app`],
            scoring: false,
            sourceOptions: { backoffMs: 1, timeoutMs: 400, deadlineMs: 1000, layers: true },
          });
          // Every request is bounded by its deadline, and a scan of one image makes a handful of them.
          expect(Date.now() - t0).toBeLessThan(30_000);
          expect((process.memoryUsage().rss - before) / 2 ** 20).toBeLessThan(300);
          const text = errorsText(r);
          for (const m of met) if (NAMED[m]) expect(text, `${m} met; report:\n${text}`).toMatch(NAMED[m]!);
          for (const m of metInListings) if (NAMED_IN_LISTINGS[m]) expect(text, `${m} met in a listing; report:\n${text}`).toMatch(NAMED_IN_LISTINGS[m]!);
          // Nothing of the hostile answers reaches the report as a key: the only findings are the real key's.
          for (const a of r.artifacts)
            for (const f of a.findings) expect(f.kind === 'private-key' || f.kind === 'signature' || f.kind === 'certificate').toBe(true);
        } finally {
          await reg.close();
        }
      }),
      { numRuns: 30 },
    );
  });
});
