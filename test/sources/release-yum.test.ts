import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ArtifactResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { startPythonHttpServer, useReleaseStores } from '../setup/release-servers.js';

const { missing, stores: s } = useReleaseStores('release-yum');

const strip = (u: string) => u.replace(/^https?:\/\/127\.0\.0\.1:\d+/, '');
async function scanYum(target: string, options: Record<string, unknown> = {}): Promise<Map<string, ArtifactResult>> {
  const r = await scan({ targets: [target], sourceOptions: { backoffMs: 5, timeoutMs: 1500, ...options }, scoring: false });
  return new Map(r.artifacts.map((a) => [strip(a.uri), a]));
}
function headerEnds(repo: string): Map<string, number> {
  const primary = readdirSync(join(s.root, repo, 'repodata')).find((f) => f.endsWith('-primary.xml.xz'))!;
  const xml = execFileSync('xz', ['-dc', join(s.root, repo, 'repodata', primary)]).toString();
  const out = new Map<string, number>();
  for (const pkg of xml.split('<package ').slice(1)) {
    const href = pkg.match(/<location href="([^"]+)"/)![1];
    out.set(href, Number(pkg.match(/<rpm:header-range start="\d+" end="(\d+)"/)![1]));
  }
  return out;
}

describe('yum/dnf repositories over HTTP(S)', () => {
  requirePrerequisiteForAll(missing);
  it('reads each RPM signature header with ONE Range request and names what rpmkeys -Kv names', async () => {
    const before = s.https.requests.length;
    const arts = await scanYum(`yum+${s.https.url}/yum/signed/`, { ca: s.caFile });
    const repomd = arts.get('/yum/signed/repodata/repomd.xml')!;
    expect(repomd.coverage).toBe('signed');
    expect(repomd.findings.map((f) => `${f.algorithm.family}@${f.location.member}`)).toEqual(['RSA@repomd.xml.asc']);

    // Oracle: rpmkeys -Kv with the two keys imported into a private rpmdb.
    const db = mkdtempSync(join(tmpdir(), 'rpmdb-'));
    for (const k of ['rsa.asc', 'ed25519.asc']) execFileSync('rpmkeys', ['--dbpath', db, '--import', join(s.root, 'keys', k)]);
    const ends = headerEnds('yum/signed');
    for (const [name, want] of [
      ['tool-rsa', /Header V4 RSA\/SHA512 Signature, key ID [0-9a-f]+: OK/],
      ['tool-eddsa', /Header V4 EdDSA\/SHA256 Signature, key ID [0-9a-f]+: OK/],
    ] as const) {
      const file = join(s.root, 'yum/signed/Packages', `${name}-1.0-1.noarch.rpm`);
      expect(execFileSync('rpmkeys', ['--dbpath', db, '-Kv', file]).toString()).toMatch(want);
      const a = arts.get(`/yum/signed/Packages/${name}-1.0-1.noarch.rpm`)!;
      expect(a.coverage).toBe('signed');
      expect(a.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
      const own = a.findings.filter((f) => f.location.member === 'rpm signature header');
      expect(own.map((f) => `${f.algorithm.family}/${f.algorithm.hash}`)).toEqual([name === 'tool-rsa' ? 'RSA/SHA-512' : 'EdDSA/SHA-256']);
      expect(a.findings.some((f) => f.location.member === 'repodata/repomd.xml')).toBe(true);
      const reqs = s.https.requests.slice(before).filter((r) => r.path.endsWith(`${name}-1.0-1.noarch.rpm`));
      expect(reqs).toHaveLength(1);
      expect(reqs[0].range).toBe(`bytes=0-${ends.get(`Packages/${name}-1.0-1.noarch.rpm`)! - 1}`);
      expect(reqs[0].status).toBe(206);
      expect(reqs[0].bytes).toBeLessThan(readFileSync(file).length);
    }
  });

  it('an unsigned repomd.xml: the repository index is unsigned, packages with their own signature stay signed', async () => {
    const arts = await scanYum(`yum+${s.http.url}/yum/unsigned/`);
    expect(arts.get('/yum/unsigned/repodata/repomd.xml')!.coverage).toBe('unsigned');
    expect(
      arts
        .get('/yum/unsigned/repodata/repomd.xml')!
        .errors.map((e) => e.message)
        .join(),
    ).toMatch(/no repomd\.xml\.asc/);
    const rpm = arts.get('/yum/unsigned/Packages/tool-rsa-1.0-1.noarch.rpm')!;
    expect(rpm.coverage).toBe('signed');
    expect(rpm.findings.every((f) => f.location.member === 'rpm signature header')).toBe(true);
    const none = await scanYum(`yum+${s.http.url}/yum/unsigned/`, { fetch: 'none' });
    expect(none.get('/yum/unsigned/Packages/tool-rsa-1.0-1.noarch.rpm')!.coverage).toBe('index-unsigned');
  });

  it("Python's http.server, which ignores Range: each RPM header is read from the start of the body, then the stream is cancelled", async () => {
    const py = await startPythonHttpServer(s.root);
    try {
      const arts = await scanYum(`yum+${py.url}/yum/signed/`);
      const ends = headerEnds('yum/signed');
      for (const [name, want] of [
        ['tool-rsa', 'RSA/SHA-512'],
        ['tool-eddsa', 'EdDSA/SHA-256'],
      ] as const) {
        const a = arts.get(`/yum/signed/Packages/${name}-1.0-1.noarch.rpm`)!;
        expect(a.errors).toEqual([]);
        expect(a.coverage).toBe('signed');
        const own = a.findings.filter((f) => f.location.member === 'rpm signature header');
        expect(own.map((f) => `${f.algorithm.family}/${f.algorithm.hash}`)).toEqual([want]);
        expect(a.annotations?.rangeIgnored).toBe(
          `the server ignored the Range request (HTTP 200, the whole body); its first ${ends.get(`Packages/${name}-1.0-1.noarch.rpm`)} bytes were read and the rest cancelled`,
        );
      }
    } finally {
      await py.close();
    }
  });

  it('faults: a server ignoring Range, a stalled range, a truncated primary: errors on the artifact, nothing hangs', async () => {
    s.http.faults.set('/yum/signed/Packages/tool-rsa-1.0-1.noarch.rpm', { ignoreRange: true });
    s.http.faults.set('/yum/signed/Packages/tool-eddsa-1.0-1.noarch.rpm', { stall: true });
    let arts = await scanYum(`yum+${s.http.url}/yum/signed/`);
    // Range ignored: the header is taken from the start of the whole body (issue 15 §4), and the package says so.
    const rsa = arts.get('/yum/signed/Packages/tool-rsa-1.0-1.noarch.rpm')!;
    expect(rsa.errors).toEqual([]);
    expect(rsa.annotations?.rangeIgnored).toMatch(/ignored the Range request/);
    expect(rsa.coverage).toBe('signed');
    const ed = arts.get('/yum/signed/Packages/tool-eddsa-1.0-1.noarch.rpm')!;
    expect(ed.errors.length).toBeGreaterThan(0);
    expect(ed.errors[0].code).toBe('remote');
    s.http.faults.clear();

    const primary = readdirSync(join(s.root, 'yum/signed/repodata')).find((f) => f.endsWith('-primary.xml.xz'))!;
    s.http.faults.set(`/yum/signed/repodata/${primary}`, { truncateAt: 100 });
    arts = await scanYum(`yum+${s.http.url}/yum/signed/`);
    expect(arts.get(`/yum/signed/repodata/${primary}`)!.errors[0].message).toMatch(/truncated|terminated|closed|other side/i);
    expect(arts.get('/yum/signed/repodata/repomd.xml')!.coverage).toBe('signed');
    s.http.faults.clear();

    s.http.faults.set('/yum/signed/repodata/repomd.xml', { redirectLoop: true });
    arts = await scanYum(`yum+${s.http.url}/yum/signed/`);
    expect(arts.get('/yum/signed/repodata/repomd.xml')!.errors[0].message).toMatch(/redirect loop|more than 5 redirects/);
    s.http.faults.clear();
  });
});
