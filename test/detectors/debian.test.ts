import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { claims } from '../../src/detectors/index.js';
import { debianDetector, hashLists } from '../../src/detectors/debian.js';
import { detectAll, FIXTURES, findingsUnder, scanPaths, summary } from '../helpers/scan.js';
import { aptDownload, needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';

const PKG = join(FIXTURES, 'packages');
const read = (f: string) => new Uint8Array(readFileSync(join(PKG, f)));

describe('debian detector', () => {
  it('claims archive and upload metadata by name, including apt list file names', () => {
    for (const name of [
      'InRelease',
      'dists/bookworm/Release',
      'Release.gpg',
      'x_1.0.dsc',
      'x_1.0_amd64.changes',
      '_gpgorigin',
      'deb.debian.org_debian_dists_bookworm_InRelease',
    ]) {
      expect(claims(debianDetector, new Uint8Array(8), { name, baseOffset: 0 }), name).toBe(true);
    }
    expect(claims(debianDetector, new Uint8Array(8), { name: 'Release.txt', baseOffset: 0 })).toBe(false);
  });

  it('InRelease signed by two keys: both signatures, with the hash lists they vouch for', () => {
    const r = detectAll('InRelease', read('InRelease'));
    expect(summary(r.findings)).toEqual(['signature openpgp Ed25519/SHA-256', 'signature openpgp RSA-3072/SHA-256']);
    for (const f of r.findings) expect(f.details).toMatchObject({ debian: 'InRelease', signs: 'InRelease', hashLists: ['SHA-256', 'MD5'] });
    expect(r.annotations).toMatchObject({ 'debian.file': 'InRelease', 'debian.hashes': 'SHA-256,MD5', 'debian.signed': 'true' });
    expect(r.errors).toEqual([]);
  });

  it('marks a signature over MD5/SHA-1-only lists as weakHashesOnly', () => {
    const r = detectAll('InRelease', read('legacy/InRelease'));
    expect(summary(r.findings)).toEqual(['signature openpgp RSA-3072/SHA-1']);
    expect(r.findings[0].details).toMatchObject({ weakHashesOnly: true, hashLists: ['MD5', 'SHA-1'] });
    expect(r.annotations).toMatchObject({ 'debian.weakHashesOnly': 'true' });
  });

  it('Release alone is unsigned; Release.gpg (binary and armored) is the detached signature over it', () => {
    const rel = detectAll('Release', read('Release'));
    expect(rel.findings).toEqual([]);
    expect(rel.annotations).toMatchObject({ 'debian.signed': 'false', 'debian.hashes': 'SHA-256,MD5' });
    const bin = detectAll('Release.gpg', read('Release.gpg'));
    expect(summary(bin.findings)).toEqual(['signature openpgp RSA-3072/SHA-512']);
    expect(bin.findings[0].details).toMatchObject({ signs: 'Release (detached)' });
    const armored = detectAll('Release.gpg', read('armored/Release.gpg'));
    expect(summary(armored.findings)).toEqual(['signature openpgp Ed25519/SHA-256']);
  });

  it('.dsc and .changes: clearsigned, with Files / Checksums-* lists', () => {
    const dsc = detectAll('shelflife-fixture_1.0.dsc', read('shelflife-fixture_1.0.dsc'));
    expect(summary(dsc.findings)).toEqual(['signature openpgp Ed25519/SHA-256']);
    expect(dsc.annotations['debian.hashes']).toBe('SHA-256,MD5,SHA-1');
    const changes = detectAll('shelflife-fixture_1.0_amd64.changes', read('shelflife-fixture_1.0_amd64.changes'));
    expect(summary(changes.findings)).toEqual(['signature openpgp RSA-3072/SHA-512']);
    expect(changes.findings[0].details).toMatchObject({ debian: 'changes' });
  });

  it('an unsigned .dsc says so; hash lists need a real digest line', () => {
    const r = detectAll('x.dsc', 'Source: x\nFiles:\n d41d8cd98f00b204e9800998ecf8427e 0 x.tar.gz\n');
    expect(r.findings).toEqual([]);
    expect(r.annotations).toMatchObject({ 'debian.signed': 'false', 'debian.weakHashesOnly': 'true' });
    expect(hashLists('SHA256:\n not-a-digest 1 x\n')).toEqual([]);
  });
});

describe('debian real world (Debian archive, at test time)', () => {
  const lists = '/var/lib/apt/lists';
  it("the local apt lists' InRelease: same signatures as gpg --list-packets", async (ctx) => {
    const files = existsSync(lists) ? readdirSync(lists).filter((f) => f.endsWith('_InRelease')) : [];
    requirePrerequisite(ctx, files.length === 0 && 'the real-world InRelease check: no InRelease under /var/lib/apt/lists (run apt-get update)');
    requirePrerequisite(ctx, needPrograms('the real-world InRelease check', 'gpg'));
    for (const f of files) {
      const text = readFileSync(join(lists, f), 'latin1');
      const armor = text.slice(text.indexOf('-----BEGIN PGP SIGNATURE-----'));
      const packets = execFileSync('gpg', ['--list-packets'], { input: armor, encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });
      // gpg prints the RSA signature MPI's bit count; Debian's archive keys are 4096-bit, so the value rounds up to a
      // multiple of 1024 (an MPI drops leading zero bits, RFC 9580 §3.2).
      const want = [...packets.matchAll(/:signature packet: algo (\d+)[\s\S]*?digest algo (\d+)[\s\S]*?data: \[(\d+) bits\]/g)].map(
        ([, a, h, bits]) =>
          `${{ '1': `RSA-${Math.ceil(Number(bits) / 1024) * 1024}`, '22': 'Ed25519', '27': 'Ed25519' }[a] ?? `algo${a}`}/${{ '8': 'SHA-256', '10': 'SHA-512', '2': 'SHA-1' }[h] ?? `hash${h}`}`,
      );
      const r = detectAll(f, new Uint8Array(readFileSync(join(lists, f))));
      expect(r.findings.map((x) => `${x.algorithm.id}/${x.algorithm.hash}`).sort(), f).toEqual(want.sort());
      expect(
        r.findings.every((x) => x.details?.debian === 'InRelease'),
        f,
      ).toBe(true);
    }
  });

  it('apt-get download ca-certificates: every .crt dpkg-deb lists is found as a certificate', async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-apt-'));
    try {
      requirePrerequisite(ctx, aptDownload('the real ca-certificates .deb check', ['ca-certificates'], dir));
      const deb = join(
        dir,
        readdirSync(dir).find((f) => f.endsWith('.deb'))!,
      );
      // The Mozilla bundle; the package's docs/examples also hold a placeholder "Local_Root_CA.crt" that is no certificate.
      const listed = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => / \.\/usr\/share\/ca-certificates\/mozilla\/[^ ]+\.crt$/.test(l)).length;
      const result = await scanPaths(deb);
      const { findings } = findingsUnder(result, pathToFileURL(deb).href);
      const elsewhere = result.artifacts.filter(
        (a) => a.uri.startsWith(pathToFileURL(deb).href) && !a.uri.includes('/usr/share/doc/ca-certificates/examples/'),
      );
      expect(elsewhere.flatMap((a) => a.errors)).toEqual([]);
      const mozilla = result.artifacts.filter((a) => a.uri.includes('/usr/share/ca-certificates/mozilla/')).flatMap((a) => a.findings);
      expect(listed).toBeGreaterThan(100);
      expect(mozilla.filter((f) => f.kind === 'certificate')).toHaveLength(listed);
      expect(findings.length).toBeGreaterThanOrEqual(listed);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
