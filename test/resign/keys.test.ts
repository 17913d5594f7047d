/** Key files: encrypted PKCS#8 (PBES2) round trips, bad passphrases and hostile parameters, certificates and CSRs. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDer } from '../../src/pkix/der.js';
import { certificationRequest, readSigningCertificate, selfSignedCertificate } from '../../src/resign/cert.js';
import { generateKey, requireAlgorithm, verify } from '../../src/resign/composite.js';
import { algorithmId, integer, octets, seq } from '../../src/pkix/der-writer.js';
import { pem } from '../../src/pkix/pem.js';
import { decodeKeyFile, decryptPkcs8, encodeEncryptedKeyPem, encodePkcs8, readPassphrase } from '../../src/resign/keys.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { isSelfSigned, tempDir } from './_helpers.js';

const OPENSSL_MISSING = needPrograms('the openssl cross-checks', 'openssl');

const CHEAP = { scrypt: { N: 1 << 10, r: 8, p: 1 } };

describe('encrypted PKCS#8', () => {
  it('round-trips composite and pure ML-DSA keys; the file holds no plaintext key', () => {
    for (const name of ['mldsa65-ecdsa-p256', 'mldsa87-ecdsa-p384', 'mldsa44']) {
      const key = generateKey(requireAlgorithm(name));
      const file = encodeEncryptedKeyPem(key, 'correct horse', CHEAP);
      expect(file).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
      expect(Buffer.from(file).includes(Buffer.from(key.seed))).toBe(false);
      const back = decodeKeyFile(Buffer.from(file), () => 'correct horse', 'k');
      expect(Buffer.from(back.bytes).equals(Buffer.from(key.bytes))).toBe(true);
    }
  });

  it("writes PBES2 scrypt (N=2^14, r=8: within OpenSSL's default memory cap) + AES-256-CBC, as openssl asn1parse reads it", (ctx) => {
    requirePrerequisite(ctx, OPENSSL_MISSING);
    const key = generateKey(requireAlgorithm('mldsa65'));
    const dir = tempDir();
    writeFileSync(join(dir, 'k.pem'), encodeEncryptedKeyPem(key, 'pw'));
    // OpenSSL names the structure; pyca.test.ts has OpenSSL 4 decrypt and load the key.
    const text = execFileSync('openssl', ['asn1parse', '-in', join(dir, 'k.pem')], { encoding: 'utf8' });
    expect(text).toMatch(/OBJECT +:PBES2[\s\S]*OBJECT +:scrypt[\s\S]*INTEGER +:4000\s[\s\S]*OBJECT +:aes-256-cbc/);
  });

  it('a wrong passphrase is a clear error, not a crash', () => {
    const key = generateKey(requireAlgorithm('mldsa65-ed25519'));
    const file = Buffer.from(encodeEncryptedKeyPem(key, 'right', CHEAP));
    expect(() => decodeKeyFile(file, () => 'wrong', 'keys/release.key')).toThrow(
      expect.objectContaining({ uri: 'keys/release.key', message: expect.stringMatching(/^wrong passphrase/) }),
    );
  });

  it('refuses an unencrypted key file', () => {
    const key = generateKey(requireAlgorithm('mldsa65'));
    expect(() => decodeKeyFile(Buffer.from(pem('PRIVATE KEY', encodePkcs8(key))), () => 'x', 'plain.key')).toThrow(/not encrypted/);
  });

  it('refuses hostile scrypt parameters before computing anything', () => {
    const kdf = algorithmId('1.3.6.1.4.1.11591.4.11', seq(octets(new Uint8Array(16)), integer(1 << 30), integer(8), integer(1)));
    const enc = algorithmId('2.16.840.1.101.3.4.1.42', octets(new Uint8Array(16)));
    const der = seq(algorithmId('1.2.840.113549.1.5.13', seq(kdf, enc)), octets(new Uint8Array(32)));
    const t = Date.now();
    expect(() => decryptPkcs8(der, 'pw', 'evil.key')).toThrow(
      expect.objectContaining({ uri: 'evil.key', message: expect.stringMatching(/^scrypt parameters .* outside/) }),
    );
    expect(Date.now() - t).toBeLessThan(1000);
  });

  it('the passphrase comes from SHELFLIFE_KEY_PASSPHRASE, and an empty one is refused', () => {
    expect(readPassphrase('k', { env: { SHELFLIFE_KEY_PASSPHRASE: 's3cret' } })).toBe('s3cret');
    expect(() => readPassphrase('k', { env: { SHELFLIFE_KEY_PASSPHRASE: '' } })).toThrow(/empty/);
  });
});

describe('certificates and CSRs', () => {
  it('self-signed composite certificate: parameters absent, keyUsage digitalSignature, signature verifies', () => {
    const key = generateKey(requireAlgorithm('mldsa65-ecdsa-p256'));
    const der = selfSignedCertificate(key, { subject: 'release', days: 30, now: new Date('2026-01-01T00:00:00Z') });
    const cert = readSigningCertificate(der, 'c');
    expect(cert.subject).toBe('CN=release');
    expect(cert.signatureAlgorithm.oid).toBe('1.3.6.1.5.5.7.6.45');
    expect(isSelfSigned(cert)).toBe(true);
    // AlgorithmIdentifier = SEQUENCE { OID } only (composite draft; RFC 9881 §2).
    const sigAlg = parseDer(der).child(1);
    expect(sigAlg.children()).toHaveLength(1);
  });

  it('self-signed composite certificate: openssl x509 reads the key usage and validity', (ctx) => {
    requirePrerequisite(ctx, OPENSSL_MISSING);
    const key = generateKey(requireAlgorithm('mldsa65-ecdsa-p256'));
    const der = selfSignedCertificate(key, { subject: 'release', days: 30, now: new Date('2026-01-01T00:00:00Z') });
    const text = execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', '-text'], { input: der, encoding: 'utf8' });
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\s/);
    expect(text).toMatch(/Not After : Jan 31 00:00:00 2026 GMT/);
  });

  it('CSR carries the key and a signature that verifies over its TBS', () => {
    const key = generateKey(requireAlgorithm('mldsa87-ecdsa-p384'));
    const der = certificationRequest(key, 'release');
    const [info, sigAlg, sig] = parseDer(der).children();
    expect(sigAlg.child(0).oid()).toBe(key.alg.oid);
    expect(verify(key.publicKey, info.encoded, sig.bits()).valid).toBe(true);
  });

  it('CSR: openssl req reads the subject', (ctx) => {
    requirePrerequisite(ctx, OPENSSL_MISSING);
    const der = certificationRequest(generateKey(requireAlgorithm('mldsa87-ecdsa-p384')), 'release');
    const text = execFileSync('openssl', ['req', '-inform', 'DER', '-noout', '-text'], { input: der, encoding: 'utf8' });
    expect(text).toMatch(/Subject: CN ?= ?release/);
  });
});
