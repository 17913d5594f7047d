/**
 * CMS / PKCS#7: SignedData (attached, detached, BER stream, SKI signer ids, several signers, no certificates,
 * timestamp tokens), EnvelopedData (RSA, ECDH, password, KEK, KEM recipients), AuthEnvelopedData, EncryptedData,
 * PEM and DER, and bad input. openssl (installed in CI) is the cross-check for times.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeOid, parseDer } from '../../src/pkix/der.js';
import { cmsDetector, detectCms, parseCms } from '../../src/detectors/cms.js';
import { claims } from '../../src/detectors/index.js';
import { parseCertificate } from '../../src/pkix/certificate.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { ctxFor, detectAll, FIXTURES, summary } from '../helpers/scan.js';

const PKI = join(FIXTURES, 'pki');
const read = (rel: string) => new Uint8Array(readFileSync(join(PKI, rel)));
const cms = (rel: string) => {
  const bytes = read(rel);
  const r = detectCms(bytes, ctxFor(rel.split('/').pop()!, bytes));
  return { findings: r.findings, errors: r.errors ?? [] };
};
const pemDer = (rel: string) =>
  parseDer(
    new Uint8Array(
      Buffer.from(
        readFileSync(join(PKI, rel), 'latin1')
          .replace(/-----[^-]+-----/g, '')
          .replace(/\s+/g, ''),
        'base64',
      ),
    ),
  );
/** openssl's "Nov 28 18:25:16 2026 GMT" → ISO. */
const OPENSSL_MISSING = needPrograms('the openssl cms/ts cross-checks', 'openssl');
const opensslTime = (s: string) => new Date(Date.parse(s.replace(' GMT', ' UTC'))).toISOString();

describe('cms: SignedData', () => {
  it('reports the signer (key size from its certificate) and the certificate at its absolute offset', () => {
    const bytes = read('cms/signed-attached-rsa.p7s');
    const r = parseCms(bytes);
    expect(r.contentType).toBe('1.2.840.113549.1.7.2');
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['certificate cms RSA-2048/SHA-256', 'signature cms RSA-2048/SHA-256']);
    const cert = r.findings.find((f) => f.kind === 'certificate')!;
    const der = read('certs/rsa2048.der');
    expect(cert.location.offset).toBe(Buffer.from(bytes).indexOf(Buffer.from(der)));
    const sig = r.findings.find((f) => f.kind === 'signature')!;
    expect(sig.subject).toBe('CN=shelflife fixture rsa2048');
    expect(sig.details).toMatchObject({
      digestAlgorithm: 'SHA-256',
      signerCertificateIncluded: true,
      signedAttributes: true,
      detached: false,
      contentType: '1.2.840.113549.1.7.1',
    });
    expect(sig.created).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('de-duplicates its certificates against the x509 carver in the registry', () => {
    const r = detectAll('signed.p7s', read('cms/signed-attached-rsa.p7s'));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['certificate cms RSA-2048/SHA-256', 'signature cms RSA-2048/SHA-256']);
  });

  it('reads PEM (label CMS), detached', () => {
    const r = cms('cms/signed-detached-ec.pem');
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['certificate cms ECDSA-P256/SHA-256', 'certificate cms RSA-3072/SHA-384', 'signature cms ECDSA-P256/SHA-256']);
    expect(r.findings.every((f) => f.location.offset === 0)).toBe(true); // the BEGIN line
    const sig = r.findings.find((f) => f.kind === 'signature')!;
    expect(sig.details?.detached).toBe(true);
    expect(sig.created).toMatch(/^\d{4}-\d\d-\d\dT/);
    // The intermediate in the bag signed the leaf: the leaf's signature is sized by it.
    const leaf = r.findings.find((f) => f.subject === 'CN=fixture leaf')!;
    expect((leaf.details?.signatureAlgorithm as { id: string }).id).toBe('RSA-3072');
  });

  it('the signing time is the one openssl cms -print shows', (ctx) => {
    requirePrerequisite(ctx, OPENSSL_MISSING);
    const sig = cms('cms/signed-detached-ec.pem').findings.find((f) => f.kind === 'signature')!;
    const printed = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'PEM', '-in', join(PKI, 'cms/signed-detached-ec.pem')], {
      encoding: 'utf8',
    });
    expect(sig.created).toBe(opensslTime(printed.match(/signingTime[\s\S]*?UTCTIME:(.+)/)![1]));
  });

  it('reads BER with indefinite lengths (openssl cms -stream)', () => {
    const bytes = read('cms/signed-stream-ber.p7m');
    expect([bytes[0], bytes[1]]).toEqual([0x30, 0x80]);
    const r = parseCms(bytes);
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['certificate cms RSA-2048/SHA-256', 'signature cms RSA-2048/SHA-256']);
    expect(r.findings[0].location.offset).toBe(Buffer.from(bytes).indexOf(Buffer.from(read('certs/rsa2048.der'))));
  });

  it('sizes an RSA signature from its length when the signer certificate is not in the message (RFC 8017 §8.2.1), and from the certificate when the caller has it', () => {
    const bytes = read('cms/signed-nocerts.p7s');
    const [sig] = parseCms(bytes).findings;
    // Signed by certs/rsa3072.crt (fixtures/gen/pki.sh): a 384-octet signature.
    expect([sig.algorithm.id, sig.algorithm.hash, sig.algorithm.parameterKnown, sig.details?.signerCertificateIncluded, sig.details?.parameterFrom]).toEqual([
      'RSA-3072',
      'SHA-384',
      undefined,
      false,
      'signature-length',
    ]);
    const signer = parseCertificate(pemDer('certs/rsa3072.crt'));
    const [sized] = parseCms(bytes, { extraCertificates: [signer] }).findings;
    expect([sized.algorithm.id, sized.algorithm.parameterKnown, sized.details?.parameterFrom]).toEqual(['RSA-3072', undefined, 'certificate']);
  });

  it('matches a signer by subjectKeyIdentifier, and reports every SignerInfo', () => {
    const [sig] = cms('cms/signed-keyid.p7s').findings.filter((f) => f.kind === 'signature');
    expect(sig.algorithm.id).toBe('ECDSA-P256');
    expect(String(sig.details?.signerIdentifier)).toMatch(/^subjectKeyIdentifier:[0-9a-f]{40}$/);
    expect(summary(cms('cms/signed-two-signers.p7s').findings)).toEqual([
      'certificate cms ECDSA-P256/SHA-256',
      'certificate cms RSA-2048/SHA-256',
      'signature cms ECDSA-P256/SHA-256',
      'signature cms RSA-2048/SHA-256',
    ]);
  });

  it('reads an Ed25519 signer (RFC 8419, SHA-512 digest) and a certificates-only PKCS7 PEM', () => {
    expect(summary(cms('cms/signed-ed25519.p7s').findings)).toEqual(['certificate cms Ed25519', 'signature cms Ed25519/SHA-512']);
    expect(summary(cms('cms/certs-only.p7b').findings)).toEqual([
      'certificate cms ECDSA-P256/SHA-256',
      'certificate cms ECDSA-P384/SHA-384',
      'certificate cms RSA-3072/SHA-384',
    ]);
  });

  it('reads a countersignature (RFC 5652 §11.4) as a nested signature', () => {
    // Re-assemble the RSA SignedData with a copy of its SignerInfo as a countersignature unsigned attribute.
    const sd = parseDer(read('cms/signed-attached-rsa.p7s')).children()[1].inner();
    const parts = sd.children();
    const si = parts[parts.length - 1].children()[0];
    const counter = seq(encodeOidTlv('1.2.840.113549.1.9.6'), tlv(0x31, si.encoded));
    const withCounter = seq(...si.children().map((c) => c.encoded), tlv(0xa1, counter));
    const bytes = seq(encodeOidTlv('1.2.840.113549.1.7.2'), tlv(0xa0, seq(...parts.slice(0, -1).map((k) => k.encoded), tlv(0x31, withCounter))));
    const r = parseCms(bytes);
    expect(r.errors).toEqual([]);
    const sigs = r.findings.filter((f) => f.kind === 'signature');
    expect(sigs.map((s) => [s.location.path, s.algorithm.id, s.details?.countersignature ?? false])).toEqual([
      ['signerInfos[0]', 'RSA-2048', false],
      ['signerInfos[0].countersignature[0]', 'RSA-2048', true],
    ]);
  });

  it('reads an RFC 3161 timestamp token: the TSA signature carries genTime', () => {
    const r = cms('cms/timestamp-token.tst');
    const sig = r.findings.find((f) => f.kind === 'signature')!;
    expect(sig.details).toMatchObject({ timestampToken: true, contentType: '1.2.840.113549.1.9.16.1.4' });
    expect(sig.created).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('the timestamp genTime is the one openssl ts -reply -text shows', (ctx) => {
    requirePrerequisite(ctx, OPENSSL_MISSING);
    const sig = cms('cms/timestamp-token.tst').findings.find((f) => f.kind === 'signature')!;
    const text = execFileSync('openssl', ['ts', '-reply', '-in', join(PKI, 'cms/timestamp-token.tst'), '-token_in', '-text'], { encoding: 'utf8' });
    expect(sig.created).toBe(opensslTime(text.match(/Time stamp: (.+)/)![1]));
  });

  it('walks a real JAR signature block with a nested timestamp token (Eclipse, DigiCert)', () => {
    const r = parseCms(read('realworld/eclipse-jgit-6.10.0-ECLIPSE_.RSA'));
    expect(r.errors).toEqual([]);
    const sigs = r.findings.filter((f) => f.kind === 'signature');
    expect(sigs.map((s) => [s.location.path, s.algorithm.id, s.algorithm.hash])).toEqual([
      ['signerInfos[0]', 'RSA-4096', 'SHA-384'],
      ['signerInfos[0].timeStampToken[0].signerInfos[0]', 'RSA-4096', 'SHA-256'],
    ]);
    expect(sigs[0].subject).toMatch(/^CN=Eclipse\.org Foundation/);
    expect(sigs[1].created).toBe('2024-06-03T23:52:27.000Z');
    expect(r.findings.filter((f) => f.kind === 'certificate')).toHaveLength(6);
  });
});

describe('cms: EnvelopedData, AuthEnvelopedData, EncryptedData', () => {
  it('reports RSA key transport (sized by the ciphertext without the recipient certificate) and the content cipher', () => {
    const bytes = read('cms/enveloped-rsa.p7m');
    const [ktri, content] = parseCms(bytes).findings;
    // RFC 8017 §7.2.1: the 256-octet encryptedKey is an RSA-2048 ciphertext (openssl cms -cmsout -print: 0x100 octets).
    expect([ktri.kind, ktri.algorithm.id, ktri.algorithm.parameterKnown, ktri.details?.recipient, ktri.details?.parameterFrom]).toEqual([
      'encrypted-data',
      'RSA-2048',
      undefined,
      'KeyTransRecipientInfo',
      'ciphertext-length',
    ]);
    expect([content.algorithm.id, content.algorithm.mode, content.quantum.status, content.details?.role]).toEqual([
      'AES-256',
      'CBC',
      'resistant',
      'content-encryption',
    ]);
    const recipient = parseCertificate(pemDer('certs/rsa3072.crt'));
    // Not the recipient (different issuer/serial): still the ciphertext's size, not that certificate's.
    expect(parseCms(bytes, { extraCertificates: [recipient] }).findings[0].algorithm.id).toBe('RSA-2048');
    const rsa2048 = parseCertificate(parseDer(read('certs/rsa2048.der')));
    const withCert = parseCms(bytes, { extraCertificates: [rsa2048] }).findings[0];
    expect([withCert.algorithm.id, withCert.details?.parameterFrom]).toEqual(['RSA-2048', 'certificate']);
  });

  it('reports ECDH with the curve of the originator point (parameters absent, RFC 5753) and the key wrap', () => {
    const [kari, content] = cms('cms/enveloped-ec.p7m').findings;
    expect([kari.algorithm.id, kari.algorithm.hash, kari.details?.keyWrap, kari.details?.recipient]).toEqual([
      'ECDH-P256',
      'SHA-1',
      'AES-128/KW',
      'KeyAgreeRecipientInfo',
    ]);
    expect(content.algorithm.id).toBe('AES-128');
  });

  it('reports password, KEK and AEAD recipients and EncryptedData', () => {
    const [pwri] = cms('cms/enveloped-pwri.p7m').findings;
    expect(pwri.details).toMatchObject({ recipient: 'PasswordRecipientInfo', kdf: 'PBKDF2', iterations: 2048 });
    expect(pwri.algorithm.id).toBe('AES-256');
    const kek = cms('cms/enveloped-kek.pem').findings;
    expect(kek.map((f) => [f.algorithm.id, f.algorithm.mode, f.location.path])).toEqual([
      ['AES-256', 'KW', 'recipientInfos[0]'],
      ['AES-256', 'CBC', 'encryptedContentInfo'],
    ]);
    const auth = cms('cms/authenveloped-rsa.p7m').findings;
    expect(auth.map((f) => [f.algorithm.id, f.algorithm.mode, f.details?.structure ?? f.details?.recipient])).toEqual([
      ['RSA-2048', 'PKCS1-v1_5', 'KeyTransRecipientInfo'],
      ['AES-256', 'GCM', 'AuthEnvelopedData'],
    ]);
    expect(summary(cms('cms/encrypteddata.p7m').findings)).toEqual(['encrypted-data cms AES-128']);
  });

  it('reports an RFC 9629 KEMRecipientInfo (ML-KEM-768, HKDF-SHA256, AES-256 key wrap)', () => {
    const bytes = envelopedWithKemRecipient();
    const r = parseCms(bytes);
    expect(r.errors).toEqual([]);
    const [kem, content] = r.findings;
    expect([kem.algorithm.id, kem.quantum.status, kem.details?.recipient, kem.details?.kdf, kem.details?.keyWrap]).toEqual([
      'ML-KEM-768',
      'resistant',
      'KEMRecipientInfo',
      'id-alg-hkdf-with-sha256',
      'AES-256/KW',
    ]);
    expect([content.algorithm.id, content.algorithm.mode]).toEqual(['AES-256', 'GCM']);
  });
});

describe('cms: bad input and claims', () => {
  it('reports truncated DER as truncated, random bytes and bad base64 as malformed, naming the artifact', () => {
    const t = cms('bad/truncated.p7s');
    expect(t.findings).toEqual([]);
    expect(t.errors.map((e) => e.code)).toEqual(['truncated']);
    expect(t.errors[0].message).not.toMatch(/^file:|^cms:/);
    expect(cms('bad/random.p7s').errors.map((e) => e.code)).toEqual(['malformed']);
    const b64 = cms('bad/bad-base64.p7b');
    expect(b64.errors.map((e) => [e.code, e.offset])).toEqual([['malformed', 0]]);
  });

  it('keeps what parsed when one SignerInfo is broken', () => {
    const bytes = new Uint8Array(read('cms/signed-two-signers.p7s'));
    const r0 = parseCms(bytes);
    const second = r0.findings.filter((f) => f.kind === 'signature')[1].location.offset!;
    // Corrupt the second SignerInfo's version INTEGER tag: that SignerInfo fails, the rest stands.
    bytes[second + 4] = 0x05;
    const r = parseCms(bytes);
    expect(r.findings.filter((f) => f.kind === 'signature')).toHaveLength(1);
    expect(r.findings.filter((f) => f.kind === 'certificate')).toHaveLength(2);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ code: 'malformed', offset: second });
  });

  it('never crashes the registry on corrupted messages', () => {
    const base = read('cms/enveloped-ec.p7m');
    for (let i = 0; i < base.length; i += 3) {
      const m = new Uint8Array(base);
      m[i] ^= 0xa5;
      const r = detectAll('m.p7m', m);
      expect(
        r.errors.filter((e) => e.code === 'detector-crash'),
        `byte ${i}`,
      ).toEqual([]);
    }
  });

  it('rejects a ContentInfo of a foreign type', () => {
    const notCms = seq(encodeOidTlv('1.2.3'), tlv(0xa0, tlv(0x05)));
    expect(() => parseCms(notCms)).toThrow(/not a CMS type/);
  });

  it('claims DER by magic, PEM by label and names, and leaves JAR blocks to the jar detector', () => {
    const der = read('cms/signed-attached-rsa.p7s');
    expect(claims(cmsDetector, der, { name: 'blob', baseOffset: 0 })).toBe(true);
    expect(claims(cmsDetector, read('cms/signed-stream-ber.p7m'), { name: 'blob', baseOffset: 0 })).toBe(true);
    expect(claims(cmsDetector, read('certs/rsa2048.der'), { name: 'blob', baseOffset: 0 })).toBe(false);
    expect(claims(cmsDetector, read('cms/certs-only.p7b'), { name: 'x.txt', baseOffset: 0 })).toBe(true);
    expect(detectCms(der, ctxFor('META-INF/CERT.RSA', der)).findings).toEqual([]);
  });
});

// ---------------------------------------------------------------- a hand-built KEMRecipientInfo (no tool writes one yet)
function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Uint8Array.from([tag, ...len, ...body]);
}
function encodeOidTlv(oid: string): Uint8Array {
  return tlv(0x06, encodeOid(oid));
}
const seq = (...p: Uint8Array[]) => tlv(0x30, ...p);
const int = (v: number) => tlv(0x02, Uint8Array.from([v]));
const octets = (n: number) => tlv(0x04, new Uint8Array(n).fill(0x42));

/** RFC 9629 §3 KEMRecipientInfo inside an RFC 5652 EnvelopedData, as RFC 9936 uses it for ML-KEM. */
function envelopedWithKemRecipient(): Uint8Array {
  const kemri = seq(
    int(0), // version
    tlv(0x80, new Uint8Array(20).fill(1)), // rid [0] SubjectKeyIdentifier
    seq(encodeOidTlv('2.16.840.1.101.3.4.4.2')), // kem: id-alg-ml-kem-768
    octets(1088), // kemct
    seq(encodeOidTlv('1.2.840.113549.1.9.16.3.28')), // kdf: HKDF-SHA256
    int(32), // kekLength
    seq(encodeOidTlv('2.16.840.1.101.3.4.1.45')), // wrap: id-aes256-wrap
    octets(40), // encryptedKey
  );
  const ori = tlv(0xa4, encodeOidTlv('1.2.840.113549.1.9.16.13.3'), kemri);
  const eci = seq(encodeOidTlv('1.2.840.113549.1.7.1'), seq(encodeOidTlv('2.16.840.1.101.3.4.1.46'), seq(octets(12))), tlv(0x80, new Uint8Array(16)));
  const env = seq(int(3), tlv(0x31, ori), eci);
  return seq(encodeOidTlv('1.2.840.113549.1.7.3'), tlv(0xa0, env));
}
