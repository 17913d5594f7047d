import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cabinetFiles, parseCabinet } from '../../src/containers/cab.js';
import type { ArtifactResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import { parseJcat } from '../../src/sources/lvfs.js';
import { needPrograms, requirePrerequisite, requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { FIXTURES } from '../helpers/scan.js';
import { useReleaseStores } from '../setup/release-servers.js';

const { missing, stores: s } = useReleaseStores('release-lvfs', ['gcab', 'jcat-tool']);

const strip = (u: string) => u.replace(/^https?:\/\/127\.0\.0\.1:\d+/, '');
async function scanLvfs(target: string, options: Record<string, unknown> = {}): Promise<Map<string, ArtifactResult>> {
  const r = await scan({ targets: [target], sourceOptions: { backoffMs: 5, timeoutMs: 1500, ...options }, scoring: false });
  return new Map(r.artifacts.map((a) => [strip(a.uri), a]));
}

describe('MS-CAB parsing', () => {
  it('rejects damaged cabinets with a clear error and bounded work', () => {
    expect(() => parseCabinet(new Uint8Array(10))).toThrow(/not a cabinet/);
    // gcab -c -z of a.bin = 100,000 × 'x' (fixtures/release-stores/cabinets/README.md).
    const cab = new Uint8Array(readFileSync(join(FIXTURES, 'release-stores', 'cabinets', 'one-file.cab')));
    expect(cabinetFiles(cab, 'a.cab')[0].bytes!.length).toBe(100_000);
    // Cut the data short: the member is reported as malformed/truncated, nothing throws past cabinetFiles.
    const cut = cab.slice(0, cab.length - 40);
    new DataView(cut.buffer).setUint32(8, cut.length, true);
    expect(cabinetFiles(cut, 'cut.cab')[0].problem?.message).toMatch(/runs past the end|truncated/);
    // Corrupt an MSZIP block signature.
    const bad = cab.slice();
    const dataOff = new DataView(bad.buffer).getUint32(36, true);
    bad[dataOff + 8] = 0;
    expect(cabinetFiles(bad, 'bad.cab')[0].problem?.message).toMatch(/"CK" signature/);
  });
});

describe('LVFS-style firmware remotes', () => {
  requirePrerequisiteForAll(missing);
  it('firmware.xml.gz + .jcat: PKCS#7 (as openssl cms names it) and GPG blobs; cabinets opened for their inner .jcat', async () => {
    // Oracle: jcat-tool info lists the blob kinds; openssl cms -cmsout -print names the PKCS#7 signature algorithm.
    const info = execFileSync('jcat-tool', ['info', join(s.root, 'lvfs/firmware.xml.gz.jcat')]).toString();
    expect([...info.matchAll(/Kind:\s+(\S+)/g)].map((m) => m[1]).sort()).toEqual(['gpg', 'pkcs7']);
    const blobs = parseJcat(new Uint8Array(readFileSync(join(s.root, 'lvfs/firmware.xml.gz.jcat'))), 'jcat').get('firmware.xml.gz')!;
    const p7 = blobs.find((b) => b.kind === 'pkcs7')!;
    const dir = mkdtempSync(join(tmpdir(), 'p7-'));
    writeFileSync(join(dir, 'b.p7'), p7.data);
    const cms = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'PEM', '-in', join(dir, 'b.p7')]).toString();
    expect(cms).toMatch(/signatureAlgorithm:\s*\n?\s*algorithm: (rsaEncryption|sha256WithRSAEncryption)/);

    const before = s.http.requests.length;
    const arts = await scanLvfs(`lvfs+${s.http.url}/lvfs/firmware.xml.gz`);
    const md = arts.get('/lvfs/firmware.xml.gz')!;
    expect(md.coverage).toBe('signed');
    expect(
      md.findings
        .filter((f) => f.kind === 'signature')
        .map((f) => `${f.format}:${f.algorithm.family}`)
        .sort(),
    ).toEqual(['cms:RSA', 'openpgp:EdDSA']);
    expect(md.findings.some((f) => f.kind === 'certificate' && f.algorithm.id === 'RSA-3072')).toBe(true);
    const signedCab = arts.get('/lvfs/downloads/signed-1.0.cab')!;
    expect(signedCab.coverage).toBe('signed');
    expect(signedCab.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(join(s.root, 'lvfs/downloads/signed-1.0.cab')))
        .digest('hex'),
    );
    expect(signedCab.findings.some((f) => f.location.member === 'signed-1.0.cab!/firmware.jcat' && f.format === 'cms' && f.kind === 'signature')).toBe(true);
    // The inner jcat's PKCS#7 signs firmware.bin (its item id), not the cabinet: checked over that member, verified.
    expect(signedCab.errors).toEqual([]);
    expect(signedCab.signedBy?.filter((l) => l.via === 'attached')).toMatchObject([{ format: 'cms', verification: 'verified' }]);
    expect(signedCab.findings.some((f) => f.location.member === 'firmware.xml.gz')).toBe(true);
    expect(signedCab.annotations?.['lvfs.component']).toBe('test.device.firmware');
    const bare = arts.get('/lvfs/downloads/bare-2.0.cab')!;
    expect(bare.coverage).toBe('covered');
    expect(bare.errors).toEqual([]);
    const gets = s.http.requests
      .slice(before)
      .map((r) => r.path)
      .sort();
    expect(gets).toEqual(['/lvfs/downloads/bare-2.0.cab', '/lvfs/downloads/signed-1.0.cab', '/lvfs/firmware.xml.gz', '/lvfs/firmware.xml.gz.jcat']);
    // the metadata really is what the jcat's checksum blob says
    expect(gunzipSync(readFileSync(join(s.root, 'lvfs/firmware.xml.gz'))).toString()).toMatch(/signed-1\.0\.cab/);
  });

  it('names the real ML-DSA-87 LVFS root (fwupd data/pki/LVFS-CA-2025PQ.pem) carried in the metadata .jcat', async () => {
    const arts = await scanLvfs(`lvfs+${s.http.url}/lvfs/firmware-pq.xml.gz`, { fetch: 'none' });
    const md = arts.get('/lvfs/firmware-pq.xml.gz')!;
    const root = md.findings.find((f) => f.kind === 'certificate')!;
    expect(root.algorithm.id).toBe('ML-DSA-87');
    expect(root.quantum.status).toBe('resistant');
    expect(root.subject).toMatch(/LVFS CA 2025PQ/);
    expect(root.location.member).toBe('firmware-pq.xml.gz.jcat');
    // The GPG blob is the signature; a certs-only PKCS#7 signs nothing.
    expect(md.coverage).toBe('signed');
    expect(md.findings.filter((f) => f.kind === 'signature').map((f) => f.format)).toEqual(['openpgp']);
  });

  it('--fetch none reads no cabinet; an unsigned metadata file leaves its releases index-unsigned', async () => {
    const before = s.http.requests.length;
    let arts = await scanLvfs(`lvfs+${s.http.url}/lvfs/firmware.xml.gz`, { fetch: 'none' });
    expect(s.http.requests.slice(before).some((r) => r.path.endsWith('.cab'))).toBe(false);
    expect(arts.get('/lvfs/downloads/signed-1.0.cab')!.coverage).toBe('covered');
    arts = await scanLvfs(`lvfs+${s.http.url}/lvfs/unsigned.xml.gz`, { fetch: 'none' });
    expect(arts.get('/lvfs/unsigned.xml.gz')!.coverage).toBe('unsigned');
    expect(arts.get('/lvfs/downloads/bare-2.0.cab')!.coverage).toBe('index-unsigned');
  });

  it('--fetch all hands the cabinet to the engine, which opens it as a container', async () => {
    const r = await scan({ targets: [`lvfs+${s.http.url}/lvfs/firmware.xml.gz`], sourceOptions: { fetch: 'all' }, scoring: false });
    const members = r.artifacts
      .filter((a) => a.parent?.endsWith('/signed-1.0.cab'))
      .map((a) => a.uri.split('!/')[1])
      .sort();
    expect(members).toEqual(['firmware.bin', 'firmware.jcat', 'firmware.metainfo.xml']);
    // firmware.bin is a signed UEFI capsule: its signer's certificate is found inside the opened cabinet.
    const capsule = r.artifacts.find((a) => a.uri.endsWith('/signed-1.0.cab!/firmware.bin'))!;
    expect(capsule.findings.some((f) => f.kind === 'certificate' && f.algorithm.id === 'RSA-3072')).toBe(true);
    const cab = r.artifacts.filter((a) => /\/signed-1\.0\.cab($|!)/.test(a.uri));
    // The cabinet and its members read whole: no error (the inner jcat's PKCS#7 is read from the member, not checked over the cabinet).
    expect(cab.flatMap((a) => a.errors)).toEqual([]);
    expect(cab.some((a) => a.findings.some((f) => f.kind === 'signature' && f.format === 'cms'))).toBe(true);
  });

  // libjcat signs each file of a cabinet by its name (the item id), so a cabinet's signatures are checked over the
  // member they name. Oracle: openssl cms -verify over firmware.bin (and not over the cabinet).
  it("a cabinet's jcat signature is checked over the member it names: verified, failed on a changed member, unverifiable without it", async (ctx) => {
    requirePrerequisite(ctx, needPrograms('the openssl cms cross-check', 'openssl'));
    const cab = new Uint8Array(readFileSync(join(s.root, 'lvfs/downloads/signed-1.0.cab')));
    const members = new Map(cabinetFiles(cab, 'signed-1.0.cab').map((m) => [m.name, m.bytes!]));
    const work = mkdtempSync(join(tmpdir(), 'jcat-'));
    const p7 = parseJcat(members.get('firmware.jcat')!, 'firmware.jcat')
      .get('firmware.bin')!
      .find((b) => b.kind === 'pkcs7')!;
    writeFileSync(join(work, 'b.p7'), p7.data);
    writeFileSync(join(work, 'firmware.bin'), members.get('firmware.bin')!);
    writeFileSync(join(work, 'cab'), cab);
    const cmsVerify = (content: string) =>
      execFileSync(
        'openssl',
        ['cms', '-verify', '-binary', '-noverify', '-inform', 'PEM', '-in', join(work, 'b.p7'), '-content', join(work, content), '-out', '/dev/null'],
        {
          stdio: 'pipe',
        },
      );
    expect(cmsVerify('firmware.bin').length).toBe(0); // exit 0: "Verification successful" on stderr
    expect(() => cmsVerify('cab')).toThrow();

    // Two cabinets made with gcab: the same jcat beside a changed firmware.bin, and the jcat without firmware.bin.
    const changed = new Uint8Array(members.get('firmware.bin')!);
    changed[changed.length - 1] ^= 0xff;
    const pack = (name: string, files: Record<string, Uint8Array>) => {
      const d = mkdtempSync(join(work, 'cab-'));
      for (const [f, b] of Object.entries(files)) writeFileSync(join(d, f), b);
      execFileSync('gcab', ['-c', join(s.root, 'lvfs/downloads', name), ...Object.keys(files)], { cwd: d, stdio: 'ignore' });
      return new Uint8Array(readFileSync(join(s.root, 'lvfs/downloads', name)));
    };
    const jcat = members.get('firmware.jcat')!;
    // The changed cabinet's jcat also carries the original firmware.bin's SHA-256 as a checksum blob (jcat-tool import).
    writeFileSync(join(work, 'firmware.jcat'), jcat);
    writeFileSync(join(work, 'fw.sha256'), createHash('sha256').update(members.get('firmware.bin')!).digest('hex'));
    execFileSync('jcat-tool', ['--basename', '--kind', 'sha256', 'import', 'firmware.jcat', 'firmware.bin', 'fw.sha256'], { cwd: work, stdio: 'ignore' });
    const cabs = {
      'changed-1.1.cab': pack('changed-1.1.cab', { 'firmware.bin': changed, 'firmware.jcat': new Uint8Array(readFileSync(join(work, 'firmware.jcat'))) }),
      'nobin-1.2.cab': pack('nobin-1.2.cab', { 'firmware.jcat': jcat }),
    };
    const releases = Object.entries(cabs)
      .map(
        ([f, b]) =>
          `<release version="1"><location>downloads/${f}</location><checksum type="sha256" target="container">${createHash('sha256').update(b).digest('hex')}</checksum><size type="download">${b.length}</size></release>`,
      )
      .join('');
    writeFileSync(
      join(s.root, 'lvfs/firmware-jcat.xml.gz'),
      gzipSync(`<?xml version="1.0"?><components><component type="firmware"><id>test.jcat</id><releases>${releases}</releases></component></components>`),
    );
    const arts = await scanLvfs(`lvfs+${s.http.url}/lvfs/firmware-jcat.xml.gz`);
    const bad = arts.get('/lvfs/downloads/changed-1.1.cab')!;
    expect(bad.coverage).not.toBe('signed');
    expect(bad.signedBy ?? []).toEqual([]);
    expect(bad.errors.map((e) => e.message).sort()).toEqual([
      expect.stringMatching(/^its SHA-256 of firmware\.bin does not match the cabinet's member \([0-9a-f]{64}\)$/),
      expect.stringMatching(/^the attached signature does not verify over changed-1\.1\.cab!\/firmware\.bin: /),
    ]);
    const nobin = arts.get('/lvfs/downloads/nobin-1.2.cab')!;
    expect(nobin.errors).toEqual([]);
    expect(nobin.signedBy?.filter((l) => l.via === 'attached')).toMatchObject([
      { format: 'cms', verification: 'unverifiable', reason: 'the cabinet holds no member firmware.bin, which its jcat item names' },
    ]);
  });

  it('a cabinet whose bytes do not match the metadata is not opened', async () => {
    s.http.faults.set('/lvfs/downloads/signed-1.0.cab', { body: new Uint8Array(readFileSync(join(s.root, 'lvfs/downloads/bare-2.0.cab'))) });
    const arts = await scanLvfs(`lvfs+${s.http.url}/lvfs/firmware.xml.gz`);
    s.http.faults.clear();
    const cab = arts.get('/lvfs/downloads/signed-1.0.cab')!;
    expect(cab.coverage).toBe('covered');
    expect(cab.errors.map((e) => e.message).join()).toMatch(/does not match the metadata/);
  });
});
