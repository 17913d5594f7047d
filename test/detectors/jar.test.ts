/** JAR signatures: META-INF signature blocks through the CMS parser (format jar), .SF digest, claims, bad blocks. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { claims } from '../../src/detectors/index.js';
import { detectJar, jarDetector } from '../../src/detectors/jar.js';
import { ctxFor, detectAll, FIXTURES, findingsUnder, scanPaths, summary } from '../helpers/scan.js';

const PKI = join(FIXTURES, 'pki');
const read = (rel: string) => new Uint8Array(readFileSync(join(PKI, rel)));

describe('jar: signed JARs through the whole pipeline', () => {
  it.each([
    ['jar/signed-rsa.jar', 'META-INF/RSA.RSA', ['certificate jar RSA-2048/SHA-256', 'signature jar RSA-2048/SHA-256']],
    ['jar/signed-ec.jar', 'META-INF/ECSIG.EC', ['certificate jar ECDSA-P256/SHA-256', 'signature jar ECDSA-P256/SHA-256']],
  ])('%s: the signature block member yields the signer and its certificate', async (rel, member, want) => {
    const path = join(PKI, rel);
    const uri = pathToFileURL(path).href;
    const result = await scanPaths(path);
    const { findings, errors } = findingsUnder(result, uri);
    expect(errors).toEqual([]);
    expect(summary(findings)).toEqual(want);
    const block = result.artifacts.find((a) => a.uri === `${uri}!/${member}`)!;
    expect(block.findings.map((f) => f.format)).toEqual(['jar', 'jar']);
    const sig = block.findings.find((f) => f.kind === 'signature')!;
    expect(sig.details).toMatchObject({ detached: true, signerCertificateIncluded: true });
    // The matching .SF names the digest used over the manifest.
    const sf = result.artifacts.find((a) => a.uri === `${uri}!/${member.replace(/\.(RSA|EC)$/, '.SF')}`)!;
    expect(sf.annotations?.['jar.sf.digest']).toBe('SHA-256');
    expect(sf.annotations?.['jar.sf.createdBy']).toMatch(/\d/);
  });

  it('reads a real Eclipse signature block as format jar, with its timestamp token', () => {
    const bytes = read('realworld/eclipse-jgit-6.10.0-ECLIPSE_.RSA');
    const r = detectJar(bytes, ctxFor('META-INF/ECLIPSE_.RSA', bytes));
    expect(r.errors).toEqual([]);
    expect(r.findings.every((f) => f.format === 'jar')).toBe(true);
    expect(summary(r.findings.filter((f) => f.kind === 'signature'))).toEqual(['signature jar RSA-4096/SHA-256', 'signature jar RSA-4096/SHA-384']);
    // Through the registry the cms detector stands aside and the carver's copies of the certificates are merged.
    const all = detectAll('META-INF/ECLIPSE_.RSA', bytes);
    expect(all.findings.filter((f) => f.format !== 'jar')).toEqual([]);
    expect(all.findings).toHaveLength(8);
  });
});

describe('jar: signature files, claims and bad blocks', () => {
  it('reads every digest algorithm a .SF header lists', () => {
    const sf = new TextEncoder().encode(
      'Signature-Version: 1.0\r\nCreated-By: 17.0.15 (Debian)\r\nSHA-256-Digest-Manifest: abc=\r\nSHA-384-Digest-Manifest-Main-Attributes: def=\r\n\r\nName: a.class\r\nSHA-1-Digest: x\r\n',
    );
    expect(detectJar(sf, ctxFor('META-INF/APP.SF', sf))).toEqual({
      findings: [],
      annotations: { 'jar.sf.digest': 'SHA-256,SHA-384', 'jar.sf.createdBy': '17.0.15 (Debian)' },
    });
  });

  it('claims META-INF signature blocks and signature files by name only', () => {
    const none = new Uint8Array(0);
    const named = (name: string) => claims(jarDetector, none, { name, baseOffset: 0 });
    expect(
      [
        'META-INF/CERT.RSA',
        'META-INF/A.DSA',
        'META-INF/KEY.EC',
        'META-INF/SIG-ONE',
        'META-INF/APP.SF',
        'lib/x.jar!/META-INF/CERT.RSA',
        'nested/META-INF/cert.rsa',
      ].map(named),
    ).toEqual([true, true, true, true, true, true, true]);
    expect(['CERT.RSA', 'META-INF/MANIFEST.MF', 'META-INF/sub/CERT.RSA.bak', 'docs/META-INF.RSA'].map(named)).toEqual([false, false, false, false]);
  });

  it('reports a block that is not SignedData as an error naming the artifact, and an empty signer set', () => {
    const junk = read('bad/random.p7s');
    const r = detectAll('META-INF/CERT.RSA', junk);
    expect(r.findings).toEqual([]);
    expect(r.errors.map((e) => [e.source, e.code])).toEqual([['jar', 'malformed']]);
    expect(r.errors[0].message).toMatch(/^signature block is not CMS SignedData/);
    // A certificates-only PKCS#7 (no SignerInfo) in a signature-block slot is suspicious: say so.
    const certsOnly = Buffer.from(
      readFileSync(join(PKI, 'cms/certs-only.p7b'), 'latin1')
        .replace(/-----[^-]+-----/g, '')
        .replace(/\s+/g, ''),
      'base64',
    );
    const c = detectJar(new Uint8Array(certsOnly), ctxFor('META-INF/CERT.RSA', new Uint8Array(certsOnly)));
    expect(c.findings.filter((f) => f.kind === 'certificate')).toHaveLength(3);
    expect(c.errors?.map((e) => e.message)).toEqual([expect.stringMatching(/holds no SignerInfo/)]);
  });
});
