/**
 * Issue 21: hostile registries and buckets, each item reproduced against a malicious server on 127.0.0.1 (a registry in
 * memory and an S3 endpoint speaking just enough of the API, test/helpers/hostile-servers.ts).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import type { ScanResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import {
  basicOf,
  drip,
  endless,
  json,
  peakRss,
  startHostile,
  startMemoryRegistry,
  type HostileServer,
  type MemoryRegistry,
} from '../helpers/hostile-servers.js';
import { tar } from '../helpers/registry.js';

const open: HostileServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
async function registry(): Promise<MemoryRegistry> {
  const r = await startMemoryRegistry();
  open.push(r);
  return r;
}
async function server(...args: Parameters<typeof startHostile>): Promise<HostileServer> {
  const s = await startHostile(...args);
  open.push(s);
  return s;
}

const fast = { backoffMs: 1, timeoutMs: 2000, deadlineMs: 8000 };
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const KEY_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const errorsOf = (r: ScanResult) => r.artifacts.flatMap((a) => a.errors.map((e) => `${a.uri} ${e.code}: ${e.message}`)).join('\n');
const gets = (s: HostileServer, part: string) => s.hits.filter((h) => h.method === 'GET' && h.path.includes(part)).length;

function image(reg: MemoryRegistry, repo: string, tag: string, layers: object[], extra: Record<string, unknown> = {}) {
  const config = reg.blob('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}', 'application/vnd.oci.image.config.v1+json');
  return reg.manifest(repo, { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers, ...extra }, tag);
}

describe('item 1: the bytes scanned are the bytes hashed', () => {
  it('a layer over 32 MiB served once with a key and then as a harmless tar is read once, and the key is found', async () => {
    const reg = await registry();
    const noise = randomBytes(33 * 1024 * 1024);
    const real = new Uint8Array(gzipSync(tar({ 'etc/ssl/private/server.pem': KEY_PEM, 'usr/lib/noise.bin': noise }), { level: 1 }));
    const harmless = new Uint8Array(gzipSync(tar({ README: 'nothing here' })));
    const layer = reg.blob(real, 'application/vnd.oci.image.layer.v1.tar+gzip');
    image(reg, 'app', 'v1', [layer]);
    let served = 0;
    reg.intercept = (req, res) => {
      if (!req.url?.endsWith(`/blobs/${layer.digest}`) || served++ === 0) return false;
      res.writeHead(200, { 'content-length': harmless.length }).end(harmless);
      return true;
    };
    const r = await scan({ targets: [`oci://${reg.host}/app:v1`], scoring: false, sourceOptions: { ...fast, layers: true, deadlineMs: 60_000 } });
    expect(gets(reg, `/blobs/${layer.digest}`)).toBe(1);
    const key = r.artifacts.find((a) => a.uri.endsWith('!/etc/ssl/private/server.pem'));
    expect(key?.findings.map((f) => f.kind)).toContain('private-key');
    expect(r.artifacts.find((a) => a.uri === `oci://${reg.host}/app@${layer.digest}`)!.sha256).toBe(layer.digest.slice(7));
    // 33 MiB gzipped and scanned: slow on a loaded machine, not a hang.
  }, 300_000);
});

describe('item 2: a manifest whose keys collide is ambiguous', () => {
  it('"layers" and "Layers": an error on the manifest, and the blobs of both lists are read', async () => {
    const reg = await registry();
    const readme = reg.blob('just a readme', 'text/plain', { 'org.opencontainers.image.title': 'README.pem' });
    const key = reg.blob(KEY_PEM, 'application/x-pem-file', { 'org.opencontainers.image.title': 'server.pem' });
    const config = reg.blob('{}', 'application/vnd.oci.empty.v1+json');
    const body = `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":${JSON.stringify(config)},"layers":[${JSON.stringify(readme)}],"Layers":[${JSON.stringify(key)}]}`;
    const m = reg.manifest('app', body, 'v1');
    const r = await scan({ targets: [`oci://${reg.host}/app:v1`], scoring: false, sourceOptions: fast });
    const manifest = r.artifacts.find((a) => a.uri === `oci://${reg.host}/app@${m.digest}`)!;
    expect(manifest.errors.map((e) => e.message).join()).toMatch(/ambiguous manifest: member names collide \("layers" and "Layers"\)/);
    const blob = r.artifacts.find((a) => a.uri === `oci://${reg.host}/app@${key.digest}`);
    expect(blob?.findings.map((f) => f.kind)).toContain('private-key');
  });
});

describe('item 3: a declared size is a promise', () => {
  it('a layer of size 1000 that streams forever is cut at 1000 bytes and reported', async () => {
    const reg = await registry();
    const fake = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${'1'.repeat(64)}`, size: 1000 };
    image(reg, 'app', 'v1', [fake]);
    reg.intercept = (req, res) => {
      if (!req.url?.endsWith(`/blobs/${fake.digest}`)) return false;
      endless(res, { 'content-type': 'application/octet-stream' }, 0x41);
      return true;
    };
    const r = await scan({ targets: [`oci://${reg.host}/app:v1`], scoring: false, sourceOptions: { ...fast, layers: true } });
    const layer = r.artifacts.find((a) => a.uri === `oci://${reg.host}/app@${fake.digest}`)!;
    expect(layer.size).toBe(1000);
    expect(layer.errors.map((e) => `${e.code} ${e.message}`).join()).toMatch(/limit-size the blob runs past its declared size of 1000 bytes; cut there/);
  });

  it('a model blob of 10^15 bytes from a registry that ignores Range: the tail is refused, nothing is read past it, no sha256 is made up', async () => {
    const reg = await registry();
    const huge = {
      mediaType: 'application/octet-stream',
      digest: `sha256:${'2'.repeat(64)}`,
      size: 1e15,
      annotations: { 'org.opencontainers.image.title': 'model.safetensors' },
    };
    image(reg, 'model', 'v1', [huge], { artifactType: 'application/vnd.example.model' });
    let sent = 0;
    reg.intercept = (req, res) => {
      if (!req.url?.endsWith(`/blobs/${huge.digest}`)) return false;
      endless(res, { 'content-type': 'application/octet-stream' }, 0x42, (n) => (sent += n)); // Range ignored, body without end
      return true;
    };
    const r = await scan({ targets: [`oci://${reg.host}/model:v1`], scoring: false, sourceOptions: fast });
    const blob = r.artifacts.find((a) => a.uri === `oci://${reg.host}/model@${huge.digest}`)!;
    expect(blob.sha256).toBeNull();
    expect(blob.errors.map((e) => e.message).join()).toMatch(/ignored the Range request; not reading 1000000000000000 bytes/);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  });
});

describe('item 4: credentials stay with their origin', () => {
  it('a catalog whose Link points to another host: the listing stops there, nothing (and no password) goes to that host', async () => {
    const other = await server((_req, res) => json(res, 200, { repositories: ['stolen'] }));
    const reg = await registry();
    reg.intercept = (req, res, hit) => {
      if (basicOf(hit) !== 'user:s3cret') return (void res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end(), true);
      if (!req.url?.startsWith('/v2/_catalog')) return false;
      json(res, 200, { repositories: [] }, { link: `<http://localhost:${other.port}/v2/_catalog?last=a>; rel="next"` });
      return true;
    };
    const cfg = join(mkdtempSync(join(tmpdir(), 'shelflife-docker-')), 'config.json');
    writeFileSync(cfg, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('user:s3cret').toString('base64') } } }));
    const r = await scan({ targets: [`oci://${reg.host}`], scoring: false, sourceOptions: { ...fast, allRepositories: true, dockerConfig: cfg } });
    expect(errorsOf(r)).toMatch(/the registry pointed to http:\/\/localhost:\d+, another host; not followed/);
    expect(other.hits).toEqual([]);
  });
});

describe('item 4: every URL a registry hands back stays on the registry', () => {
  it('a tag list whose Link points to another host: not followed, no password sent there, the reason on the repository', async () => {
    const other = await server((_req, res) => json(res, 200, { name: 'app', tags: ['stolen'] }));
    const reg = await registry();
    image(reg, 'app', 'v1', []);
    reg.intercept = (req, res, hit) => {
      if (basicOf(hit) !== 'user:s3cret') return (void res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end(), true);
      if (!req.url?.startsWith('/v2/app/tags/list')) return false;
      json(res, 200, { name: 'app', tags: ['v1'] }, { link: `<http://localhost:${other.port}/v2/app/tags/list?last=v1>; rel="next"` });
      return true;
    };
    const cfg = join(mkdtempSync(join(tmpdir(), 'shelflife-docker-')), 'config.json');
    writeFileSync(cfg, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('user:s3cret').toString('base64') } } }));
    const r = await scan({ targets: [`oci://${reg.host}/app`], scoring: false, sourceOptions: { ...fast, dockerConfig: cfg } });
    expect(errorsOf(r)).toMatch(
      new RegExp(`oci://${reg.host}/app remote: .*the registry pointed to http://localhost:${other.port}, another host; not followed`),
    );
    expect(other.hits).toEqual([]);
  });

  /** A registry with the referrers API, answering for `subject` in two pages: an empty one, then `second`. */
  function pagedReferrers(reg: MemoryRegistry, subject: string, next: string, second: object[]) {
    reg.intercept = (req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (!u.pathname.startsWith('/v2/app/referrers/')) return false;
      if (u.pathname !== `/v2/app/referrers/${subject}`)
        return (json(res, 200, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }), true);
      const body = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: u.searchParams.has('page') ? second : [] };
      json(res, 200, body, u.searchParams.has('page') ? {} : { link: `<${next}>; rel="next"` });
      return true;
    };
  }
  function notarySignature(reg: MemoryRegistry, subject: { mediaType: string; digest: string; size: number }) {
    const sig = reg.blob('{"payload":"e30","protected":"e30","signature":"AA"}', 'application/jose+json');
    const config = reg.blob('{}', 'application/vnd.oci.empty.v1+json');
    const m = reg.manifest('app', {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.cncf.notary.signature',
      config,
      layers: [sig],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    });
    return { mediaType: OCI_MANIFEST, digest: m.digest, size: m.size, artifactType: 'application/vnd.cncf.notary.signature' };
  }

  it('referrers answered in pages: the signature on the second page is found (spec v1.1 "Listing Referrers")', async () => {
    const reg = await registry();
    const m = image(reg, 'app', 'v1', []);
    pagedReferrers(reg, m.digest, `/v2/app/referrers/${m.digest}?page=2`, [notarySignature(reg, m)]);
    const r = await scan({ targets: [`oci://${reg.host}/app:v1`], scoring: false, sourceOptions: fast });
    const a = r.artifacts.find((x) => x.uri === `oci://${reg.host}/app@${m.digest}`)!;
    expect(a.signed).toBe(true);
    expect(a.annotations?.['oci.signatures']).toBe('notation');
    expect(gets(reg, '?page=2')).toBe(1);
  });

  it('a referrers page linking to another host: not followed, and the image is not called unsigned', async () => {
    const other = await server((_req, res) => json(res, 200, { schemaVersion: 2, manifests: [] }));
    const reg = await registry();
    const m = image(reg, 'app', 'v1', []);
    pagedReferrers(reg, m.digest, `http://localhost:${other.port}/v2/app/referrers/${m.digest}?page=2`, []);
    const r = await scan({ targets: [`oci://${reg.host}/app:v1`], scoring: false, sourceOptions: fast });
    const a = r.artifacts.find((x) => x.uri === `oci://${reg.host}/app@${m.digest}`)!;
    expect(a.errors.map((e) => e.message).join()).toMatch(/the referrers list could not be read in full: .*another host; not followed/);
    expect(a.signed).toBeUndefined();
    expect(other.hits).toEqual([]);
  });
});

/** An S3 endpoint that answers every listing with `page(n)` (the n-th request) and every object with `object`. */
async function s3(
  page: (n: number, query: URLSearchParams) => string,
  object?: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void,
) {
  let n = 0;
  return server((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.searchParams.has('list-type') || u.searchParams.has('versions')) {
      const xml = page(n++, u.searchParams);
      return res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) }).end(xml);
    }
    if (object) return object(req, res);
    res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
  });
}
const listing = (keys: string[], token?: string, size = 3) =>
  `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><IsTruncated>${token ? 'true' : 'false'}</IsTruncated>${
    token ? `<NextContinuationToken>${token}</NextContinuationToken>` : ''
  }${keys.map((k) => `<Contents><Key>${k}</Key><LastModified>2025-01-01T00:00:00.000Z</LastModified><ETag>"e"</ETag><Size>${size}</Size></Contents>`).join('')}</ListBucketResult>`;
const env = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
Object.assign(process.env, env);
const s3Scan = (s: HostileServer, extra: Record<string, unknown> = {}) =>
  scan({ targets: ['s3://bkt/'], scoring: false, sourceOptions: { ...fast, endpoint: s.url, digest: 'none', ...extra } });

describe('item 5: S3 pagination that never ends', () => {
  it('a continuation token alternating A, B, A … stops at the repeat, with the error named', async () => {
    const s = await s3((n) => listing([`k${n}`], n % 2 ? 'B' : 'A'));
    const r = await s3Scan(s);
    // A, B, then A again: the third page is the repeat, and nothing is asked after it.
    expect(s.hits.filter((h) => h.path.includes('list-type')).length).toBe(3);
    expect(errorsOf(r)).toMatch(/ListObjectsV2: the store answered a pagination token it gave before \(a loop\)/);
    expect(r.artifacts.filter((a) => a.uri.startsWith('s3://bkt/k'))).toHaveLength(3);
  });

  it('key and version markers alternating in --versions stop the same way', async () => {
    const s = await s3(
      (n) =>
        `<ListVersionsResult><Name>bkt</Name><IsTruncated>true</IsTruncated><NextKeyMarker>k${n % 2}</NextKeyMarker><NextVersionIdMarker>v</NextVersionIdMarker><Version><Key>k${n}</Key><VersionId>v${n}</VersionId><IsLatest>true</IsLatest><LastModified>2025-01-01T00:00:00.000Z</LastModified><ETag>"e"</ETag><Size>3</Size></Version></ListVersionsResult>`,
    );
    const r = await s3Scan(s, { versions: true });
    expect(errorsOf(r)).toMatch(/ListObjectVersions: the store answered a pagination token it gave before/);
  });

  it('a token that never ends, on empty pages, stops at the empty-page limit', async () => {
    const s = await s3((n) => listing([], `T${n}`));
    const r = await s3Scan(s, { deadlineMs: 60_000 });
    // Counted, not timed: exactly the empty pages the limit allows were asked for (the loop ran to 1,000,000 pages).
    expect(s.hits.filter((h) => h.path.includes('list-type')).length).toBe(1000);
    expect(r.artifacts[0].errors[0]).toMatchObject({ code: 'limit-entries', message: expect.stringMatching(/1000 pages in a row listed nothing/) });
    // A thousand SDK requests: slow on a loaded machine, not a hang.
  }, 300_000);
});

describe('item 6: huge pages', () => {
  it('a 40 MiB ListObjectsV2 page is refused past the page cap, in bounded memory', async () => {
    const key = `k/${'x'.repeat(900)}`;
    const one = `<Contents><Key>${key}</Key><Size>3</Size></Contents>`;
    const big = Buffer.from(`<ListBucketResult><IsTruncated>false</IsTruncated>${one.repeat(Math.ceil((40 * 2 ** 20) / one.length))}</ListBucketResult>`);
    const s = await s3(() => big.toString('latin1'));
    const r = await s3Scan(s);
    expect(errorsOf(r)).toMatch(/more than the 33554432-byte limit for one listing page/);
  });

  it('endless pages of tags stop at the tag limit', async () => {
    const reg = await registry();
    let page = 0;
    reg.intercept = (req, res) => {
      if (!req.url?.startsWith('/v2/app/tags/list')) return false;
      const tags = Array.from({ length: 50_000 }, (_, i) => `t${page}-${i}`);
      page++;
      json(res, 200, { name: 'app', tags }, { link: `</v2/app/tags/list?last=p${page}>; rel="next"` });
      return true;
    };
    const r = await scan({ targets: [`oci://${reg.host}/app`], scoring: false, sourceOptions: fast });
    expect(r.artifacts[0]).toMatchObject({ uri: `oci://${reg.host}/app` });
    expect(r.artifacts[0].errors[0]).toMatchObject({ code: 'limit-entries', message: expect.stringMatching(/more than 100000 tags/) });
    expect(page).toBeLessThan(5);
  });
});

describe('item 7: memory is not kept per subject', () => {
  it('an index of 100 children sharing one 3.5 MiB signature: the bytes are not held per child', async () => {
    const reg = await registry();
    const sig = reg.blob(randomBytes(3.5 * 2 ** 20), 'application/vnd.dev.cosign.simplesigning.v1+json');
    const config = reg.blob('{}', 'application/vnd.oci.empty.v1+json');
    const sigManifest = reg.manifest('app', {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      config,
      layers: [{ ...sig, annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ' } }],
    });
    const children = Array.from({ length: 100 }, (_, i) =>
      image(reg, 'app', undefined as unknown as string, [reg.blob(`layer ${i}`, 'application/vnd.oci.image.layer.v1.tar')]),
    );
    for (const c of children)
      reg.manifest(
        'app',
        {
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [{ mediaType: OCI_MANIFEST, digest: sigManifest.digest, size: sigManifest.size }],
        },
        `sha256-${c.digest.slice(7)}`,
      );
    reg.manifest(
      'app',
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: children.map((c) => ({ mediaType: OCI_MANIFEST, digest: c.digest, size: c.size })),
      },
      'v1',
    );
    reg.intercept = (req, res) => {
      if (!req.url?.startsWith('/v2/app/tags/list')) return false;
      json(res, 200, { name: 'app', tags: ['v1', ...children.map((c) => `sha256-${c.digest.slice(7)}`)] });
      return true;
    };
    const { value: r, peakMiB } = await peakRss(() => scan({ targets: [`oci://${reg.host}/app:v1`], scoring: false, sourceOptions: fast }));
    expect(r.artifacts.filter((a) => a.signed)).toHaveLength(100);
    // 100 copies held (one per child, as the signature cache kept them) are 350 MB; shared and released, a handful.
    expect(peakMiB).toBeLessThan(150);
    // 100 subjects each read 3.5 MiB of signature through every detector: slow on a loaded machine, not a hang.
  }, 300_000);
});

describe('item 8: deadlines for buckets', () => {
  it('an S3 GET dripping one byte every 200 ms ends at the deadline', async () => {
    const s = await s3(
      () => listing(['slow.bin'], undefined, 100_000),
      (_req, res) => drip(res, { 'content-length': 100_000, etag: '"e"' }, 200),
    );
    const r = await s3Scan(s, { digest: 'full', deadlineMs: 2000 });
    expect(
      r.artifacts
        .find((a) => a.uri === 's3://bkt/slow.bin')!
        .errors.map((e) => e.message)
        .join(),
    ).toMatch(/deadline/);
  });
});

describe('item 9: every limit reached is named', () => {
  it('layers past 4,096: the key blob at index 4,100 is not read, and the manifest says why', async () => {
    const reg = await registry();
    const filler = reg.blob('x', 'application/vnd.oci.image.layer.v1.tar');
    const key = reg.blob(KEY_PEM, 'application/x-pem-file');
    const layers = [...Array.from({ length: 4100 }, () => filler), key];
    const m = image(reg, 'app', 'v1', layers);
    const r = await scan({ targets: [`oci://${reg.host}/app:v1`], scoring: false, sourceOptions: fast });
    const manifest = r.artifacts.find((a) => a.uri === `oci://${reg.host}/app@${m.digest}`)!;
    expect(manifest.errors).toContainEqual(
      expect.objectContaining({ code: 'limit-entries', message: 'lists 4101 layers; only the first 4096 were read (limit)' }),
    );
  });
});

describe('item 9: the other limits, each named', () => {
  it('a signature manifest of 70 layers: the first 64 are read, and the subject says why the rest were not', async () => {
    const reg = await registry();
    const m = image(reg, 'app', 'v1', []);
    const config = reg.blob('{}', 'application/vnd.oci.empty.v1+json');
    const layers = Array.from({ length: 70 }, (_, i) => reg.blob(`{"payload":"${i}"}`, 'application/jose+json'));
    reg.manifest(
      'app',
      { schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.cncf.notary.signature', config, layers },
      `sha256-${m.digest.slice(7)}.sig`,
    );
    const r = await scan({ targets: [`oci://${reg.host}/app:v1`], scoring: false, sourceOptions: fast });
    expect(errorsOf(r)).toMatch(/limit-entries: signature manifest lists 70 layers; only the first 64 were read \(limit\)/);
  });

  it('a catalog of endless pages stops after 10,000 of them, with the limit named on the registry', async () => {
    const reg = await registry();
    let pages = 0;
    reg.intercept = (req, res) => {
      if (!req.url?.startsWith('/v2/_catalog')) return false;
      pages++;
      json(res, 200, { repositories: [] }, { link: `</v2/_catalog?last=r${pages}>; rel="next"` });
      return true;
    };
    const r = await scan({ targets: [`oci://${reg.host}`], scoring: false, sourceOptions: { ...fast, allRepositories: true } });
    expect(pages).toBe(10_000);
    expect(errorsOf(r)).toMatch(/limit-entries: .*more than 10000 pages; the rest of the listing was not read/);
  }, 300_000);

  it('a 65 MiB model blob is sampled by range: it says so, and carries no sha256 it did not compute', async () => {
    const reg = await registry();
    const model = reg.blob(new Uint8Array(65 * 2 ** 20), 'application/vnd.example.model.safetensors', {
      'org.opencontainers.image.title': 'model.safetensors',
    });
    image(reg, 'model', 'v1', [model], { artifactType: 'application/vnd.example.model' });
    const r = await scan({ targets: [`oci://${reg.host}/model:v1`], scoring: false, sourceOptions: fast });
    const blob = r.artifacts.find((a) => a.uri === `oci://${reg.host}/model@${model.digest}`)!;
    expect(blob.sha256).toBeNull();
    expect(blob.annotations).toMatchObject({ sampled: `${2 * 2 ** 20} of ${65 * 2 ** 20} bytes read (head and tail)`, 'store.digest': model.digest });
    expect(reg.hits.filter((h) => h.path.endsWith(model.digest)).every((h) => h.headers.range)).toBe(true);
  });
});

describe('item 10: the same artifact seen twice is one artifact', () => {
  it('an invalid layer digest, an index nested too deep, two tags sharing a layer, an S3 key listed twice: recorded, no crash', async () => {
    const reg = await registry();
    const shared = reg.blob(new Uint8Array(gzipSync(tar({ 'a.pem': KEY_PEM }))), 'application/vnd.oci.image.layer.v1.tar+gzip');
    image(reg, 'app', 'v1', [shared, { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: 'sha256:zz', size: 1 }]);
    image(reg, 'app', 'v2', [shared]);
    let inner = image(reg, 'deep', undefined as unknown as string, [shared]);
    for (let i = 0; i < 6; i++)
      inner = reg.manifest(
        'deep',
        {
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [{ mediaType: inner.mediaType, digest: inner.digest, size: inner.size }],
        },
        i === 5 ? 'v1' : undefined,
      );
    const bucket = await s3(
      () => listing(['dup.bin', 'dup.bin']),
      (_req, res) => res.writeHead(200, { 'content-length': 3, etag: '"e"' }).end('abc'),
    );
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-dup-'));
    const inventory = await Inventory.open(join(dir, 'inv.db'));
    try {
      const r = await scan({
        targets: [`oci://${reg.host}/app`, `oci://${reg.host}/deep:v1`, 's3://bkt/'],
        scoring: false,
        inventory,
        sourceOptions: { ...fast, layers: true, endpoint: bucket.url, digest: 'full' },
      });
      const uris = r.artifacts.map((a) => a.uri);
      expect(new Set(uris).size).toBe(uris.length);
      expect(uris.filter((u) => u === `oci://${reg.host}/app@${shared.digest}`)).toHaveLength(1);
      expect(uris.filter((u) => u === 's3://bkt/dup.bin')).toHaveLength(1);
      expect(errorsOf(r)).toMatch(/layers\[1\] has no valid sha256 digest; skipped/);
      expect(errorsOf(r)).toMatch(/indexes nested deeper than 4; its manifests were not read \(limit\)/);
    } finally {
      await inventory.close();
    }
  });
});
