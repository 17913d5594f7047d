import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ArtifactResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import type { Finding } from '../../src/model.js';
import { HttpClient } from '../../src/net/http.js';
import { APT_RSA_CUTOFF, chainFindings } from '../../src/scan/vouching.js';
import { weaker } from '../../src/sources/hashes.js';
import { parseChecksums, parseListing } from '../../src/sources/checksums.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { useReleaseStores } from '../setup/release-servers.js';

const { missing, stores: s, guard } = useReleaseStores('release-checksums');

const strip = (u: string) => u.replace(/^https?:\/\/127\.0\.0\.1:\d+/, '');
async function scanDir(target: string, options: Record<string, unknown> = {}, scoring = false): Promise<Map<string, ArtifactResult>> {
  const r = await scan({
    targets: [target],
    sourceOptions: { backoffMs: 5, timeoutMs: 1500, ...options },
    ...(scoring ? { now: () => new Date('2026-01-01T00:00:00Z') } : { scoring: false }),
  });
  return new Map(r.artifacts.map((a) => [strip(a.uri), a]));
}
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('checksum file parsing', () => {
  it('reads coreutils and BSD lines, refuses paths that escape, ignores junk', () => {
    const hex = 'a'.repeat(64);
    expect(parseChecksums(`${hex}  a.bin\n${hex} *b.bin\nSHA256 (c.bin) = ${hex}\n${'b'.repeat(32)}  old.bin\n${hex}  ../etc/passwd\nnot a line\n`)).toEqual([
      { name: 'a.bin', hash: 'SHA-256', hex },
      { name: 'b.bin', hash: 'SHA-256', hex },
      { name: 'c.bin', hash: 'SHA-256', hex },
      { name: 'old.bin', hash: 'MD5', hex: 'b'.repeat(32) },
    ]);
    expect(
      parseListing('<a href="../">..</a><a href="x.bin">x</a><a href="sub/">s</a><a href="https://evil/">e</a><a href="/abs">a</a><a href="?C=N">s</a>'),
    ).toEqual(['x.bin']);
  });
});

describe('chain of custody', () => {
  const sig = (family: string, id: string, hash: string): Finding => ({
    kind: 'signature',
    format: 'openpgp',
    algorithm: { id, family, hash },
    quantum: { status: 'vulnerable', classicalBits: 112, nistLevel: null },
    location: { offset: 0 },
  });
  const index = { url: 'u', name: 'dists/x/InRelease', signatures: [sig('RSA', 'RSA-2048', 'SHA-512'), sig('EdDSA', 'Ed25519', 'SHA-256')], errors: [] };
  it("takes the weakest hash on the way down, and notes apt's RSA cutoff", () => {
    const weak = chainFindings(index, ['SHA-256', 'MD5'], true);
    expect(weak.map((f) => f.algorithm.hash)).toEqual(['MD5', 'MD5']);
    expect(weak[0].details).toMatchObject({ chainHash: 'MD5', index: 'dists/x/InRelease', aptRefusesFrom: APT_RSA_CUTOFF });
    expect(weak[1].details?.aptRefusesFrom).toBeUndefined();
    expect(weak.every((f) => f.location.member === 'dists/x/InRelease')).toBe(true);
    const strong = chainFindings(index, ['SHA-512', 'SHA-512']);
    expect(strong.map((f) => f.algorithm.hash)).toEqual(['SHA-512', 'SHA-256']);
    expect(strong[0].details?.chainHash).toBeUndefined();
    expect(weaker('SHA-1', 'SHA-256')).toBe('SHA-1');
  });
});

describe('signed checksum directories over HTTP(S)', () => {
  requirePrerequisiteForAll(missing);
  it('signify: SHA256SUMS.sig covers what it lists, a .minisig sibling signs its file, an unlisted file is unsigned', async () => {
    // Oracle: signify-openbsd -V accepts the checksum file with the release key.
    const v = spawnSync('signify-openbsd', [
      '-V',
      '-p',
      join(s.root, 'keys/signify.pub'),
      '-x',
      join(s.root, 'sums/signify/SHA256SUMS.sig'),
      '-m',
      join(s.root, 'sums/signify/SHA256SUMS'),
    ]);
    expect(v.status).toBe(0);
    const before = s.https.requests.length;
    const arts = await scanDir(`${s.https.url}/sums/signify/`, { ca: s.caFile });
    const sums = arts.get('/sums/signify/SHA256SUMS')!;
    expect(sums.coverage).toBe('signed');
    expect(sums.findings.map((f) => `${f.format}:${f.algorithm.id}@${f.location.member}`)).toEqual(['signify:Ed25519@SHA256SUMS.sig']);
    const a = arts.get('/sums/signify/fw-a.bin')!;
    expect(a.coverage).toBe('covered');
    expect(a.sha256).toBe(sha(join(s.root, 'sums/signify/fw-a.bin')));
    expect(a.findings.map((f) => `${f.algorithm.id}@${f.location.member}`)).toEqual(['Ed25519@SHA256SUMS']);
    const b = arts.get('/sums/signify/fw-b.bin')!;
    expect(b.coverage).toBe('signed');
    expect(b.findings.map((f) => `${f.format}@${f.location.member}`).sort()).toEqual(['minisign@fw-b.bin.minisig', 'signify@SHA256SUMS']);
    const extra = arts.get('/sums/signify/extra.txt')!;
    expect(extra.coverage).toBe('unsigned');
    expect(extra.sha256).toBeNull();
    // Nothing but the listing, the checksum file, its signature, the sibling and HEADs.
    const gets = s.https.requests
      .slice(before)
      .filter((r) => r.method === 'GET')
      .map((r) => r.path);
    expect(gets.sort()).toEqual(['/sums/signify/', '/sums/signify/SHA256SUMS', '/sums/signify/SHA256SUMS.sig', '/sums/signify/fw-b.bin.minisig']);
  });

  it('minisign: SHA256SUMS.minisig (oracle: minisign -V); a checksum file URL as the target', async () => {
    const v = spawnSync('minisign', ['-V', '-p', join(s.root, 'keys/minisign.pub'), '-m', join(s.root, 'sums/minisign/SHA256SUMS')]);
    expect(v.status).toBe(0);
    const arts = await scanDir(`${s.http.url}/sums/minisign/SHA256SUMS`);
    expect(arts.get('/sums/minisign/SHA256SUMS')!.coverage).toBe('signed');
    const img = arts.get('/sums/minisign/router.img')!;
    expect(img.coverage).toBe('covered');
    expect(img.findings[0].format).toBe('minisign');
    expect(img.sha256).toBe(sha(join(s.root, 'sums/minisign/router.img')));
  });

  it('a Sigstore bundle beside the checksum file is read by the sigstore detector, and one that signs other bytes does not sign it', async () => {
    const arts = await scanDir(`${s.http.url}/sums/sigstore/`);
    const sums = arts.get('/sums/sigstore/SHA256SUMS')!;
    expect(sums.findings.filter((f) => f.kind === 'signature').every((f) => f.location.member === 'SHA256SUMS.sigstore.json')).toBe(true);
    expect(sums.findings.some((f) => f.format === 'sigstore' && f.kind === 'signature')).toBe(true);
    // The bundle is cosign's over another file (fixtures/gen/release-stores.sh): an error naming it, and the list is
    // not signed by it (docs/coverage.md: a signature that fails is never a link).
    expect(sums.errors.map((e) => e.message).sort()).toEqual([
      'no signature on this checksum file; the files it lists are index-unsigned',
      expect.stringMatching(/^the attached signature does not verify over this artifact: /),
    ]);
    expect(sums.errors.find((e) => e.message.startsWith('the attached'))?.uri).toMatch(/SHA256SUMS\.sigstore\.json$/);
    expect(sums.coverage).toBe('unsigned');
    expect(sums.signedBy).toBeUndefined();
    // What it lists still takes the index chain's signature, which that path does not check (`unverifiable`, saying so).
    const image = arts.get('/sums/sigstore/image.bin')!;
    expect(image.coverage).toBe('covered');
    expect(image.signedBy).toMatchObject([{ via: 'index', verification: 'unverifiable' }]);
  });

  it('a URL naming one file: its per-file signature siblings, no listing read', async () => {
    const before = s.http.requests.length;
    const arts = await scanDir(`${s.http.url}/sums/signify/fw-b.bin`);
    const b = arts.get('/sums/signify/fw-b.bin')!;
    expect(b.coverage).toBe('signed');
    expect(b.findings.map((f) => `${f.format}@${f.location.member}`)).toEqual(['minisign@fw-b.bin.minisig']);
    expect(s.http.requests.slice(before).some((r) => r.path === '/sums/signify/')).toBe(false);
    expect((await scanDir(`${s.http.url}/sums/signify/fw-a.bin`)).get('/sums/signify/fw-a.bin')!.coverage).toBe('unsigned');
  });

  it('unsigned lists make index-unsigned artifacts; an MD5-only list is an error of its own', async () => {
    const arts = await scanDir(`${s.http.url}/sums/plain/`, {}, true);
    expect(arts.get('/sums/plain/sha256sums')!.coverage).toBe('unsigned');
    expect(arts.get('/sums/plain/one.bin')!.coverage).toBe('index-unsigned');
    const two = arts.get('/sums/plain/two.bin')!;
    expect(two.coverage).toBe('index-unsigned');
    expect(two.sha256).toBeNull();
    expect(two.errors.map((e) => e.message).join()).toMatch(/only MD5/);
  });

  it('faults: 404 directory, redirect loop on a sibling, 500 on a signature: errors, no hang', async () => {
    let arts = await scanDir(`${s.http.url}/sums/nowhere/`);
    expect(arts.get('/sums/nowhere/')!.errors[0].message).toMatch(/HTTP 404/);
    s.http.faults.set('/sums/signify/fw-b.bin.minisig', { redirectLoop: true });
    s.http.faults.set('/sums/signify/SHA256SUMS.sig', { status: 503 });
    arts = await scanDir(`${s.http.url}/sums/signify/`);
    expect(
      arts
        .get('/sums/signify/fw-b.bin')!
        .errors.map((e) => e.message)
        .join(),
    ).toMatch(/redirect loop/);
    expect(
      arts
        .get('/sums/signify/SHA256SUMS')!
        .errors.map((e) => e.message)
        .join(),
    ).toMatch(/HTTP 503/);
    // With its signature unreadable the list is unsigned, and says so.
    expect(arts.get('/sums/signify/fw-a.bin')!.coverage).toBe('index-unsigned');
    s.http.faults.clear();
  });

  it('ETag revalidation: a rescan with the cache gets 304s for the index files', async () => {
    const cache = new Map<string, { etag: string; bytes: Uint8Array }>();
    const http = new HttpClient({ cache });
    await scanDir(`${s.http.url}/sums/minisign/`, { http });
    const first = http.stats.requests;
    await scanDir(`${s.http.url}/sums/minisign/`, { http });
    expect(http.stats.notModified).toBe(2); // SHA256SUMS and its .minisig (the listing has no ETag)
    expect(http.stats.requests - first).toBe(first);
    await http.close();
  });

  it('the real binary: --fetch, --ca, coverage in the JSON report', async () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'shelflife.js');
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(
        process.execPath,
        [bin, 'scan', `${s.https.url}/sums/signify/`, '--ca', s.caFile, '--fetch', 'none', '--format', 'json', '--no-progress', '--no-db'],
        { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 },
      );
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(out.stderr).toBe('');
    const report = JSON.parse(out.stdout) as { artifacts: ArtifactResult[] };
    const byName = new Map(report.artifacts.map((a) => [strip(a.uri), a]));
    expect(byName.get('/sums/signify/fw-a.bin')?.coverage).toBe('covered');
    expect(byName.get('/sums/signify/fw-b.bin')?.coverage).toBe('signed');
    expect(byName.get('/sums/signify/extra.txt')?.coverage).toBe('unsigned');
    expect(out.code).toBe(0);
  });

  it('the loopback guard refuses any host but 127.0.0.1, and the scan reports it instead of hanging', async () => {
    const arts = await scanDir('https://downloads.example.invalid/router/', { timeoutMs: 500 });
    expect([...arts.values()][0].errors[0].message).toMatch(/only 127\.0\.0\.1 is allowed|ENOTFOUND|failed/);
    expect(guard.violations.some((h) => h.includes('example.invalid'))).toBe(true);
    guard.violations.length = 0;
  });
});
