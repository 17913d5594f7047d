/**
 * The signature containers: detached CMS SignedData (.p7s) and the DSSE JSON bundle. Tamper tests flip a byte of
 * the artifact, of the ML-DSA half and of the classical half, and the result must say which failed. The `.p7s`
 * scanned through the detector registry is a hybrid finding (after a resign, a scan reports `hybrid`).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseDer } from '../../src/pkix/der.js';
import { runDetectors } from '../../src/detectors/index.js';
import { readSigningCertificate, selfSignedCertificate } from '../../src/resign/cert.js';
import { checkDigestRule, parseSignedData } from '../../src/resign/cms.js';
import { generateKey, requireAlgorithm, type PrivateKey } from '../../src/resign/composite.js';
import { parseBundle, verifyBundle } from '../../src/resign/dsse.js';
import { verifyArtifact } from '../../src/resign/resign.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { flip, signBundle, signDetached } from './_helpers.js';

const artifact = new TextEncoder().encode('firmware image v1.2.3 '.repeat(100));
const stream = (b: Uint8Array) => () =>
  (async function* () {
    yield b;
  })();

function identity(name: string) {
  const key = generateKey(requireAlgorithm(name));
  const cert = readSigningCertificate(selfSignedCertificate(key, { subject: `signer ${name}`, days: 10 }), 'cert');
  return { key, cert };
}

function cmsFor(key: PrivateKey, cert: ReturnType<typeof identity>['cert'], bytes: Uint8Array): Uint8Array {
  const h = key.alg.prehash === 'SHA-256' ? 'sha256' : key.alg.prehash === 'SHA-512' ? 'sha512' : 'shake256';
  const digest = createHash(h, h === 'shake256' ? { outputLength: 64 } : {})
    .update(bytes)
    .digest();
  return signDetached(key, cert, digest, { signingTime: new Date('2026-11-28T00:00:00Z') });
}

/** Offset of the signature OCTET STRING contents inside the .p7s, found structurally. */
function signatureOffset(p7s: Uint8Array): number {
  const sd = parseDer(p7s).child(1).inner();
  const signerInfo = sd.children().at(-1)!.child(0);
  return signerInfo.children().at(-1)!.contentStart;
}

const OPENSSL_MISSING = needPrograms('the openssl cms cross-check', 'openssl');

describe('CMS SignedData (.p7s)', () => {
  for (const name of ['mldsa65-ecdsa-p256', 'mldsa44-ecdsa-p256', 'mldsa87-ed448', 'mldsa65']) {
    it(`${name}: the digest algorithm follows the rules, parameters absent, and it verifies`, async () => {
      const { key, cert } = identity(name);
      const p7s = cmsFor(key, cert, artifact);
      const sd = parseSignedData(p7s, 'x.p7s');
      expect(sd.signers).toHaveLength(1);
      expect(sd.signers[0].digest).toBe(key.alg.traditional ? key.alg.prehash : 'SHA-512');
      expect(checkDigestRule(sd.signers[0])).toBeUndefined();
      const r = await verifyArtifact(stream(artifact), p7s, cert, 'x.p7s');
      expect(r).toMatchObject({ valid: true, digestMatches: true, embeddedCertificate: false });
    });

    it(`${name}: openssl cms parses it, digestAlgorithm parameters absent (RFC 9882, composite CMS draft)`, (ctx) => {
      requirePrerequisite(ctx, OPENSSL_MISSING);
      const { key, cert } = identity(name);
      const p7s = cmsFor(key, cert, artifact);
      const text = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER'], { input: p7s, encoding: 'utf8' });
      expect(text).toMatch(/digestAlgorithms:\s+algorithm: \S+ \([\d.]+\)\s+parameter: <ABSENT>/);
      expect(text).toMatch(/eContent: <ABSENT>/);
    });
  }

  it('tamper: artifact, ML-DSA half, classical half: verify fails and says which', async () => {
    const { key, cert } = identity('mldsa65-ecdsa-p256');
    const p7s = cmsFor(key, cert, artifact);
    const at = signatureOffset(p7s);
    const n = key.alg.mldsa.lengths.signature!;

    const changed = await verifyArtifact(stream(flip(artifact, 10)), p7s, cert, 'x');
    expect(changed).toMatchObject({ valid: false, digestMatches: false });
    expect(changed.reason).toMatch(/artifact changed after signing/);

    const pq = await verifyArtifact(stream(artifact), flip(p7s, at + 50), cert, 'x');
    expect(pq).toMatchObject({ valid: false, mldsa: false, traditional: true });
    expect(pq.reason).toMatch(/the ML-DSA-65 half/);

    const classical = await verifyArtifact(stream(artifact), flip(p7s, at + n + 20), cert, 'x');
    expect(classical).toMatchObject({ valid: false, mldsa: true, traditional: false });
    expect(classical.reason).toMatch(/the ECDSA-P256 half/);
  });

  it('a different certificate does not match the signer; without --cert the embedded one is used and flagged', async () => {
    const a = identity('mldsa65-ecdsa-p256');
    const b = identity('mldsa65-ecdsa-p256');
    const p7s = cmsFor(a.key, a.cert, artifact);
    await expect(verifyArtifact(stream(artifact), p7s, b.cert, 'x.p7s')).rejects.toThrow(/no signer in it matches the certificate/);
    expect(await verifyArtifact(stream(artifact), p7s, undefined, 'x.p7s')).toMatchObject({ valid: true, embeddedCertificate: true });
  });

  it('hostile bytes give clear errors, never a crash', async () => {
    const { key, cert } = identity('mldsa65-ed25519');
    const p7s = cmsFor(key, cert, artifact);
    for (const bad of [new Uint8Array(0), Uint8Array.of(0x30, 0x84, 0xff, 0xff, 0xff, 0xff), p7s.subarray(0, 200), flip(p7s, 20)]) {
      await expect(verifyArtifact(stream(artifact), bad, cert, 'evil.p7s')).rejects.toMatchObject({ uri: 'evil.p7s' });
    }
  });

  it('scanned through runDetectors, the sidecar is a hybrid finding', () => {
    const { key, cert } = identity('mldsa65-ecdsa-p256');
    const p7s = cmsFor(key, cert, artifact);
    const r = runDetectors(p7s, { name: 'fw.bin.p7s', uri: 'file:///t/fw.bin.p7s', size: p7s.length, baseOffset: 0, whole: true });
    const sig = r.findings.find((f) => f.kind === 'signature');
    expect(sig, JSON.stringify(r)).toBeDefined();
    expect(sig!.format).toBe('cms');
    expect(sig!.algorithm.id).toBe('ML-DSA-65+ECDSA-P256');
    expect(sig!.quantum.status).toBe('hybrid');
  });
});

describe('DSSE bundle', () => {
  const digests = {
    sha256: createHash('sha256').update(artifact).digest('hex'),
    sha512: createHash('sha512').update(artifact).digest('hex'),
  };

  it('round-trips; tampering with the artifact or either half is caught and named', async () => {
    const { key, cert } = identity('mldsa65-ecdsa-p256');
    const text = signBundle(key, cert, 'fw.bin', digests);
    const json = JSON.parse(text);
    expect(json.mediaType).toBe('application/vnd.shelflife.hybrid-signature.v1+json');
    expect(json.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(await verifyArtifact(stream(artifact), Buffer.from(text), cert, 'b.json')).toMatchObject({ valid: true });
    expect(await verifyArtifact(stream(flip(artifact, 0)), Buffer.from(text), cert, 'b.json')).toMatchObject({ valid: false, digestMatches: false });
    const sig = Buffer.from(json.dsseEnvelope.signatures[0].sig, 'base64');
    const n = key.alg.mldsa.lengths.signature!;
    for (const [at, half] of [
      [10, 'mldsa'],
      [n + 10, 'traditional'],
    ] as const) {
      const bad = structuredClone(json);
      bad.dsseEnvelope.signatures[0].sig = Buffer.from(flip(sig, at)).toString('base64');
      const r = verifyBundle(parseBundle(Buffer.from(JSON.stringify(bad)), 'b'), cert, digests);
      expect(r.valid).toBe(false);
      expect(r[half]).toBe(false);
    }
  });

  it('rejects malformed bundles with the file name', () => {
    expect(() => parseBundle(Buffer.from('{"mediaType":"x"}'), 'b.json')).toThrow(
      expect.objectContaining({ uri: 'b.json', message: expect.stringMatching(/^not a application\/vnd.shelflife/) }),
    );
    expect(() => parseBundle(Buffer.from('{'), 'b.json')).toThrow(
      expect.objectContaining({ uri: 'b.json', message: expect.stringMatching(/^not a JSON bundle/) }),
    );
  });
});
