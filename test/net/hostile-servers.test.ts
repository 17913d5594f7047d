/**
 * Issue 14's network items, each reproduced against a real hostile server on 127.0.0.1 (test/helpers/hostile-servers.ts):
 * 3 registry credentials that followed a redirect to another host's token realm, 4 passwords in URLs that ended up in
 * reports and an echoed token that got printed, 5 a compressed index that expanded into gigabytes of memory, 8 a
 * server dripping one byte at a time that kept a scan alive forever, 10 a redirect to the cloud metadata address.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/net/http.js';
import { scan } from '../../src/scan/scan.js';
import { spoolAndDeliver } from '../../src/sinks/deliver.js';
import { installLoopbackGuard } from '../helpers/http-faults.js';
import { basicOf, drip, json, peakRss, startHostile, type HostileServer } from '../helpers/hostile-servers.js';
import { sampleScan } from '../helpers/sample-scan.js';

const open: HostileServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
async function server(...args: Parameters<typeof startHostile>): Promise<HostileServer> {
  const s = await startHostile(...args);
  open.push(s);
  return s;
}

const SUMS = (name: string) => `${'a'.repeat(64)}  ${name}\n`;
const fast = { backoffMs: 1, timeoutMs: 1000, deadlineMs: 2500 };

describe('item 8: every request has an idle timeout and an overall deadline', () => {
  it('a checksum file dripped one byte every 200 ms ends at the deadline, with the error on it', async () => {
    const s = await server((_req, res) => drip(res, { 'content-length': 100_000 }, 200));
    // The error names the deadline that ended it (without one the drip lasts 100,000 × 200 ms and the test times out).
    const r = await scan({ targets: [`${s.url}/rel/SHA256SUMS`], scoring: false, sourceOptions: fast });
    const a = r.artifacts.find((x) => x.uri.endsWith('/rel/SHA256SUMS'))!;
    expect(a.errors[0].message).toMatch(/not finished within the 2\.5 s deadline \(--deadline\)/);
  });

  it('an OCI manifest dripped one byte every 200 ms, and a Content-Length longer than the body, end too', async () => {
    const s = await server((req, res) => {
      if (req.url === '/v2/app/manifests/drip') return drip(res, { 'content-length': 100_000, 'content-type': 'application/json' }, 200);
      if (req.url === '/v2/app/manifests/short') {
        res.writeHead(200, { 'content-length': 5000, 'content-type': 'application/json' });
        res.write('{"schemaVersion":2');
        return; // then silence
      }
      json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
    });
    const r = await scan({ targets: [`oci://${s.host}/app:drip`, `oci://${s.host}/app:short`], scoring: false, sourceOptions: fast });
    const msg = (tag: string) =>
      r.artifacts
        .find((a) => a.uri.endsWith(`:${tag}`))!
        .errors.map((e) => e.message)
        .join('\n');
    expect(msg('drip')).toMatch(/deadline/);
    expect(msg('short')).toMatch(/no data for 1 s \(idle timeout, --timeout\)/);
  });
});

describe('item 10: redirects stay on the host, and metadata addresses are never fetched', () => {
  it('a redirect to 169.254.169.254 is refused before any connection', async () => {
    const s = await server((req, res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/' }).end());
    const guard = installLoopbackGuard();
    try {
      const r = await scan({ targets: [`${s.url}/releases/`], scoring: false, sourceOptions: fast });
      expect(r.artifacts[0].errors[0].message).toMatch(/169\.254\.169\.254.*link-local.*never fetched/);
      expect(guard.violations).toEqual([]);
    } finally {
      guard.uninstall();
    }
  });

  it('a redirect to another host is refused unless --follow-redirects names it; the password never follows', async () => {
    let s: HostileServer | undefined = undefined;
    s = await server((req, res, hit) => {
      if (req.url === '/releases/' && hit.headers.host?.startsWith('127.0.0.1'))
        return res.writeHead(302, { location: `http://localhost:${s!.port}/mirror/` }).end();
      if (req.url === '/mirror/') return res.writeHead(200, { 'content-type': 'text/html' }).end('<a href="SHA256SUMS">SHA256SUMS</a>');
      if (req.url === '/mirror/SHA256SUMS') return res.writeHead(200).end(SUMS('fw.bin'));
      res.writeHead(404).end();
    });
    const refused = await scan({ targets: [`http://user:pw@${s.host}/releases/`], scoring: false, sourceOptions: fast });
    expect(refused.artifacts[0].errors[0].message).toMatch(/redirect to localhost:\d+ refused: redirects stay on 127\.0\.0\.1 .*--follow-redirects localhost/);
    const allowed = await scan({ targets: [`http://user:pw@${s.host}/releases/`], scoring: false, sourceOptions: { ...fast, followRedirects: ['localhost'] } });
    expect(allowed.artifacts.map((a) => a.uri)).toContain(`http://${s.host}/releases/SHA256SUMS`);
    expect(s.hits.filter((h) => h.headers.host?.startsWith('localhost')).map((h) => h.headers.authorization)).toEqual([undefined]);
    expect(s.hits.filter((h) => h.headers.host?.startsWith('127.0.0.1')).every((h) => basicOf(h) === 'user:pw')).toBe(true);
  });

  it('a name that resolves to a metadata address is refused at connect time, whatever the URL says', async () => {
    const s = await server((_req, res) => res.writeHead(200).end('ok'));
    const resolve = (host: string, _o: unknown, cb: (e: NodeJS.ErrnoException | null, a: { address: string; family: number }[]) => void) =>
      cb(null, [{ address: host === 'metadata.test' ? '169.254.169.254' : '127.0.0.1', family: 4 }]);
    const http = new HttpClient({ resolve, retries: 0 });
    try {
      // The refusal comes from the resolver's answer, before any socket connects to it.
      await expect(http.get(`http://metadata.test:${s.port}/latest/`)).rejects.toThrow(/metadata\.test resolves to 169\.254\.169\.254, a link-local address/);
      expect(Buffer.from((await http.get(`http://registry.test:${s.port}/`))!.bytes).toString()).toBe('ok');
      expect(s.hits).toHaveLength(1);
    } finally {
      await http.close();
    }
  });
});

describe('item 3: registry credentials go only to the registry they are configured for', () => {
  /** The user's docker credentials for `host` (as `docker login host` writes them). */
  const dockerConfig = (host: string) => {
    const p = join(mkdtempSync(join(tmpdir(), 'shelflife-docker-')), 'config.json');
    writeFileSync(p, JSON.stringify({ auths: { [host]: { auth: Buffer.from('user:s3cret').toString('base64') } } }));
    return p;
  };

  it('a registry that redirects to another host gets nobody the password, not even its token realm', async () => {
    let realm: HostileServer | undefined = undefined;
    let other: HostileServer | undefined = undefined;
    realm = await server((_req, res) => json(res, 200, { token: 'stolen-nothing' }));
    other = await server((_req, res) =>
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://localhost:${realm!.port}/token",service="evil"` }).end(),
    );
    const registry = await server((req, res) => {
      if (req.url?.startsWith('/v2/app/manifests/')) return res.writeHead(307, { location: `http://localhost:${other!.port}${req.url}` }).end();
      res.writeHead(404).end();
    });
    for (const followRedirects of [[], ['localhost']]) {
      const r = await scan({
        targets: [`oci://${registry.host}/app:v1`],
        scoring: false,
        sourceOptions: { ...fast, followRedirects, dockerConfig: dockerConfig(registry.host) },
      });
      expect(r.artifacts[0].errors.length).toBeGreaterThan(0);
      expect(JSON.stringify(r)).not.toContain('s3cret');
    }
    for (const h of [...other.hits, ...realm.hits]) expect(h.headers.authorization).toBeUndefined();
    expect(other.hits.length).toBeGreaterThan(0); // reached only when the user allowed the redirect
  });

  it('a token realm on another host:port gets the credentials only when --registry-auth-host names it', async () => {
    const realm = await server((_req, res, hit) => (basicOf(hit) === 'user:s3cret' ? json(res, 200, { token: 'T' }) : res.writeHead(401).end()));
    const registry = await server((req, res) => {
      if (req.headers.authorization !== 'Bearer T')
        return res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${realm.port}/token",service="reg"` }).end();
      if (req.url === '/v2/app/manifests/v1')
        return json(
          res,
          200,
          { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [] },
          {
            'content-type': 'application/vnd.oci.image.manifest.v1+json',
          },
        );
      json(res, 404, { errors: [] });
    });
    const target = `oci://${registry.host}/app:v1`;
    const creds = { dockerConfig: dockerConfig(registry.host) };
    const anon = await scan({ targets: [target], scoring: false, sourceOptions: { ...fast, ...creds } });
    expect(anon.artifacts[0].errors[0].message).toMatch(/token request to http:\/\/127\.0\.0\.1:\d+\/token → HTTP 401/);
    expect(realm.hits.every((h) => h.headers.authorization === undefined)).toBe(true);
    const trusted = await scan({ targets: [target], scoring: false, sourceOptions: { ...fast, ...creds, authHosts: [`127.0.0.1:${realm.port}`] } });
    expect(trusted.artifacts[0].uri).toMatch(new RegExp(`^oci://${registry.host}/app@sha256:`));
    expect(trusted.artifacts[0].errors.filter((e) => !/referrers|tag list/.test(e.message))).toEqual([]);
    expect(realm.hits.some((h) => basicOf(h) === 'user:s3cret')).toBe(true);
  });
});

describe('item 4: a password in a URL is used for the request and stored, printed and sent nowhere', () => {
  it('checksum directory: the scan result, the inventory and every message are free of it', async () => {
    const s = await server((req, res, hit) => {
      if (basicOf(hit) !== 'ci:hunter2-secret') return res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
      if (req.url === '/rel/') return res.writeHead(200).end('<a href="SHA256SUMS">s</a><a href="fw.bin">f</a><a href="gone.bin">g</a>');
      if (req.url === '/rel/SHA256SUMS') return res.writeHead(200).end(SUMS('fw.bin') + SUMS('gone.bin'));
      if (req.url === '/rel/fw.bin' && req.method === 'HEAD') return res.writeHead(200, { 'content-length': 10 }).end();
      res.writeHead(404).end();
    });
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-userinfo-'));
    const { Inventory } = await import('../../src/inventory/inventory.js');
    const inventory = await Inventory.open(join(dir, 'inv.db'));
    const r = await scan({ targets: [`http://ci:hunter2-secret@${s.host}/rel/`], scoring: false, inventory, sourceOptions: fast });
    await inventory.close();
    expect(r.scan.targets).toEqual([`http://${s.host}/rel/`]);
    expect(r.artifacts.map((a) => a.uri).sort()).toEqual([`http://${s.host}/rel/SHA256SUMS`, `http://${s.host}/rel/fw.bin`, `http://${s.host}/rel/gone.bin`]);
    expect(r.artifacts.find((a) => a.uri.endsWith('gone.bin'))!.errors[0].message).toMatch(/HTTP 404/);
    const secret = ['hunter2-secret', Buffer.from('ci:hunter2-secret').toString('base64')];
    for (const x of secret) expect(JSON.stringify(r)).not.toContain(x);
    for (const f of readdirSync(dir)) for (const x of secret) expect(readFileSync(join(dir, f)).includes(x)).toBe(false);
  });

  it('a HEC or Elasticsearch receiver that echoes the token in its error gets it cut out', async () => {
    const TOKEN = 'tok-3f9a1c77-0b1d-4e55-9d2e-6a0e5f7c1b42';
    const echo = await server((req, res, hit) => {
      const text = `invalid credentials: ${hit.headers.authorization} (${Buffer.from(TOKEN).toString('base64')})`;
      if (req.url?.startsWith('/services/collector')) return json(res, 403, { text, code: 4 });
      res.writeHead(400, { 'content-type': 'text/plain' }).end(text);
    });
    process.env.SHELFLIFE_TEST_ECHO_TOKEN = TOKEN;
    try {
      const root = mkdtempSync(join(tmpdir(), 'shelflife-echo-'));
      const reports = await spoolAndDeliver(
        sampleScan(2, 1),
        [
          { url: `hec+${echo.url}`, tokenEnv: 'SHELFLIFE_TEST_ECHO_TOKEN' },
          { url: `elastic+${echo.url}/idx`, tokenEnv: 'SHELFLIFE_TEST_ECHO_TOKEN' },
        ],
        { spoolRoot: root, backoffMs: 5, maxBackoffMs: 10, retryForMs: 200 },
      );
      expect(reports.map((x) => x.error)).toEqual([
        expect.stringMatching(/HTTP 403: invalid credentials: Splunk \[redacted\]/),
        expect.stringMatching(/HTTP 400/),
      ]);
      expect(JSON.stringify(reports)).not.toContain(TOKEN);
      const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
      for (const f of walk(root)) expect(readFileSync(f, 'utf8')).not.toContain(TOKEN);
    } finally {
      delete process.env.SHELFLIFE_TEST_ECHO_TOKEN;
    }
  });
});

describe('item 5 over HTTP: a compressed index is parsed as it expands', () => {
  it('a primary.xml.gz expanding to 100 MiB streams through in bounded memory', async () => {
    // One package whose description is 100 MiB of text that gzip squeezes about 85 times: under the ratio limit.
    const head = Buffer.from('<metadata><package type="rpm"><name>big</name><location href="Packages/big.rpm"/><description>');
    const tail = Buffer.from('</description></package></metadata>');
    const gz = await new Promise<Buffer>((resolve, reject) => {
      const z = createGzip({ level: 1 });
      const parts: Buffer[] = [];
      z.on('data', (c: Buffer) => parts.push(c));
      z.on('end', () => resolve(Buffer.concat(parts)));
      z.on('error', reject);
      z.write(head);
      let seed = 1;
      let i = 0;
      const write = () => {
        for (; i < 5500; i++) {
          const block = Buffer.alloc(300 * 64, 'x');
          for (let k = 0; k < 64; k++) {
            seed = (seed * 1103515245 + 12345) & 0x7fffffff;
            block[300 * k + 299] = 0x61 + (seed % 26);
          }
          if (!z.write(block)) {
            i++;
            return void z.once('drain', write);
          }
        }
        z.end(tail);
      };
      write();
    });
    const sha = createHash('sha256').update(gz).digest('hex');
    const repomd = `<repomd><data type="primary"><checksum type="sha256">${sha}</checksum><location href="repodata/p.xml.gz"/><size>${gz.length}</size></data></repomd>`;
    const s = await server((req, res) => {
      if (req.url === '/repo/repodata/repomd.xml') return res.writeHead(200).end(repomd);
      if (req.url === '/repo/repodata/p.xml.gz') return res.writeHead(200, { 'content-length': gz.length }).end(gz);
      res.writeHead(404).end();
    });
    const { value: r, peakMiB } = await peakRss(() =>
      scan({ targets: [`yum+${s.url}/repo/`], scoring: false, sourceOptions: { ...fast, deadlineMs: 30_000, fetch: 'none' } }),
    );
    expect(r.artifacts.map((a) => a.uri)).toContain(`${s.url}/repo/Packages/big.rpm`);
    // The whole document in memory (bytes, then a string of it) was 600 MB and more; streaming keeps a chunk or two.
    expect(peakMiB).toBeLessThan(150);
  });

  it('a 120 KB firmware.xml.zst that would expand to 3.75 GiB stops at the ratio limit, in bounded memory', async () => {
    // RFC 8878 §3.1.1.2: a frame of RLE blocks (3-byte header + one byte each), 128 KiB of output per block.
    const blocks = 30_000;
    const zst = Buffer.alloc(6 + 4 * blocks);
    zst.writeUInt32LE(0xfd2fb528, 0);
    zst[5] = 0x38; // 128 KiB window, no content size
    for (let i = 0; i < blocks; i++) {
      zst.writeUIntLE(((128 * 1024) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0), 6 + 4 * i, 3);
      zst[6 + 4 * i + 3] = 0x3c; // '<'
    }
    const s = await server((req, res) => {
      if (req.url === '/fw/firmware.xml.zst') return res.writeHead(200, { 'content-length': zst.length }).end(zst);
      res.writeHead(404).end();
    });
    const { value: r, peakMiB } = await peakRss(() =>
      scan({ targets: [`lvfs+${s.url}/fw/firmware.xml.zst`], scoring: false, sourceOptions: { ...fast, fetch: 'none' } }),
    );
    const meta = r.artifacts.find((a) => a.uri === `${s.url}/fw/firmware.xml.zst`)!;
    expect(meta.errors).toContainEqual(expect.objectContaining({ code: 'limit-ratio', message: expect.stringMatching(/compression ratio above 200:1/) }));
    expect(peakMiB).toBeLessThan(256);
  });
});
