import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { scan } from '../../src/scan/scan.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { FIXTURES } from '../helpers/scan.js';

const reg = inject('registry');
const REGISTRY_MISSING = !reg.available && reg.reason;
const rec = JSON.parse(readFileSync(join(FIXTURES, 'remote', 'referrers.json'), 'utf8')) as {
  repository: string;
  subject: string;
  manifests: Record<string, { mediaType: string; body: string }>;
  blobs: Record<string, string>;
  referrers: { status: number; headers: Record<string, string>; body: unknown };
};

/**
 * In front of the real registry: answers the referrers endpoint with the recorded response (registry 2.8 has none),
 * and throttles the first manifest request with 429 + Retry-After to exercise the retry path. Everything else is
 * forwarded to the registry untouched.
 */
function startFront(upstream: string, log: string[]): Promise<{ server: Server; host: string }> {
  let throttled = false;
  const server = createServer(async (req, res) => {
    const path = req.url ?? '/';
    log.push(`${req.method} ${path}`);
    if (path === `/v2/${rec.repository}/referrers/${rec.subject}`) {
      res.writeHead(rec.referrers.status, rec.referrers.headers).end(JSON.stringify(rec.referrers.body));
      return;
    }
    if (!throttled && path.includes('/manifests/')) {
      throttled = true;
      res.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' }).end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      return;
    }
    const r = await fetch(`http://${upstream}${path}`, { method: req.method, headers: { accept: String(req.headers.accept ?? '*/*') } });
    const headers: Record<string, string> = {};
    r.headers.forEach((v, k) => {
      if (k !== 'content-encoding' && k !== 'transfer-encoding' && k !== 'content-length') headers[k] = v;
    });
    res.writeHead(r.status, headers).end(Buffer.from(await r.arrayBuffer()));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, host: `127.0.0.1:${(server.address() as { port: number }).port}` })));
}

describe('oci referrers API (recorded response in front of a real registry)', () => {
  let front: { server: Server; host: string };
  const log: string[] = [];

  requirePrerequisiteForAll(REGISTRY_MISSING);

  beforeAll(async () => {
    if (REGISTRY_MISSING) return;
    const c = new RegistryClient(reg.anonymous);
    for (const b of Object.values(rec.blobs)) await c.pushBlob(rec.repository, Buffer.from(b, 'base64'));
    for (const [digest, m] of Object.entries(rec.manifests))
      await c.pushManifest(rec.repository, digest === rec.subject ? 'v1' : digest, Buffer.from(m.body, 'base64'), m.mediaType);
    front = await startFront(reg.anonymous, log);
  });
  afterAll(() => {
    front?.server.closeAllConnections();
    front?.server.close();
  });

  it('uses the referrers API when the registry has it, retries a 429, and reports the signatures on the subject', async () => {
    const r = await scan({ targets: [`oci://${front.host}/${rec.repository}@${rec.subject}`], scoring: false, sourceOptions: { backoffMs: 1 } });
    expect(r.artifacts).toHaveLength(1);
    const img = r.artifacts[0];
    expect(img.errors.filter((e) => e.source === 'source' || e.source === 'engine')).toEqual([]);
    expect(img.signed).toBe(true);
    expect(img.annotations?.['oci.signatures']).toBe('notation,sigstore');
    expect(img.annotations?.['org.opencontainers.image.created']).toBe('2025-06-01T00:00:00Z');
    // The Notary COSE_Sign1 (alg ES256, an x5chain of one P-256 certificate, as cbor2 and pyca read it): the COSE
    // detector reports its signature and its certificate.
    expect(img.findings.filter((f) => f.location.member?.endsWith('signature.cose')).map((f) => `${f.kind} ${f.algorithm.id}`)).toEqual([
      'signature ECDSA-P256',
      'certificate ECDSA-P256',
    ]);
    const paths = log.map((l) => l.replace(/sha256[:-][0-9a-f]{64}/g, 'D'));
    // 429 then the retried manifest; the referrers endpoint answered, so no `sha256-<hex>` tag-schema lookup.
    expect(paths.slice(0, 3)).toEqual([
      `GET /v2/${rec.repository}/manifests/D`,
      `GET /v2/${rec.repository}/manifests/D`,
      `GET /v2/${rec.repository}/referrers/D`,
    ]);
    expect(log.some((l) => /\/manifests\/sha256-[0-9a-f]{64}$/.test(l))).toBe(false);
  });
});
