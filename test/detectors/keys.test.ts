/** Keys: SPKI, PKCS#8 (plain and encrypted: PBES2/PBKDF2, scrypt, PKCS#12 PBE), PKCS#1, SEC1, legacy PEM, PQ keys. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectKeys } from '../../src/detectors/keys.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { ctxFor, FIXTURES } from '../helpers/scan.js';

const PKI = join(FIXTURES, 'pki');
const read = (rel: string) => new Uint8Array(readFileSync(join(PKI, rel)));
const keys = (rel: string) => {
  const bytes = read(rel);
  const r = detectKeys(bytes, ctxFor(rel.split('/').pop()!, bytes));
  return { findings: r.findings, errors: r.errors ?? [] };
};
const one = (rel: string) => {
  const r = keys(rel);
  expect(r.errors, rel).toEqual([]);
  expect(r.findings, rel).toHaveLength(1);
  return r.findings[0];
};

/** An encrypted key: the key inside and the encryption around it, both at the key's offset. */
const encrypted = (rel: string) => {
  const r = keys(rel);
  expect(r.errors, rel).toEqual([]);
  expect(
    r.findings.map((f) => f.kind),
    rel,
  ).toEqual(['private-key', 'encrypted-data']);
  const [key, wrap] = r.findings;
  expect(wrap.location.offset).toBe(key.location.offset);
  expect(wrap.details?.role).toBe('key-protection');
  return { key, wrap };
};

describe('keys: every encoding', () => {
  it('names RSA keys in PKCS#8, PKCS#1 and SPKI, PEM and DER', () => {
    const got = ['keys/rsa-pkcs8.pem', 'keys/rsa-pkcs8.der', 'keys/rsa-pkcs1.key', 'keys/rsa-spki.pub', 'keys/rsa-spki.der', 'keys/rsa-pkcs1-public.pem'].map(
      (f) => {
        const k = one(f);
        return `${k.kind} ${k.format} ${k.algorithm.id}`;
      },
    );
    expect(got).toEqual([
      'private-key pkcs8 RSA-2048',
      'private-key pkcs8 RSA-2048',
      'private-key pkcs1 RSA-2048',
      'public-key spki RSA-2048',
      'public-key spki RSA-2048',
      'public-key pkcs1 RSA-2048',
    ]);
  });

  it('agrees with openssl on the RSA modulus size', (ctx) => {
    requirePrerequisite(ctx, needPrograms('the openssl pkey cross-check', 'openssl'));
    const text = execFileSync('openssl', ['pkey', '-in', join(PKI, 'keys/rsa-pkcs8.pem'), '-noout', '-text'], { encoding: 'utf8' });
    expect(one('keys/rsa-pkcs8.pem').algorithm.id).toBe(`RSA-${text.match(/Private-Key: \((\d+) bit/)![1]}`);
  });

  it('reports the key inside encrypted PKCS#8 (PBKDF2, scrypt, PKCS#12 PBE) and, as a second finding, the PBES2 cipher and KDF', () => {
    const pbkdf2 = encrypted('keys/rsa-pkcs8-pbkdf2.pem');
    expect([pbkdf2.key.algorithm.id, pbkdf2.key.quantum.status]).toEqual(['RSA-2048', 'vulnerable']);
    expect(pbkdf2.key.details).toMatchObject({ encrypted: true, protection: 'AES-256', keyAlgorithmFrom: 'ciphertext length' });
    expect([pbkdf2.wrap.kind, pbkdf2.wrap.algorithm.id, pbkdf2.wrap.algorithm.mode]).toEqual(['encrypted-data', 'AES-256', 'CBC']);
    expect(pbkdf2.wrap.details).toMatchObject({
      structure: 'EncryptedPrivateKeyInfo',
      scheme: 'PBES2',
      kdf: 'PBKDF2',
      prf: 'hmacWithSHA256',
      iterations: 2048,
    });
    const scrypt = encrypted('keys/rsa-pkcs8-scrypt.pem');
    expect([scrypt.key.algorithm.id, scrypt.wrap.algorithm.id]).toEqual(['RSA-2048', 'AES-128']);
    expect(scrypt.wrap.details).toMatchObject({ scheme: 'PBES2', kdf: 'scrypt', cost: 16384, blockSize: 8, parallelization: 1 });
    const pbe = encrypted('keys/rsa-pkcs8-pbe3des.pem');
    expect([pbe.key.algorithm.id, pbe.wrap.algorithm.id, pbe.wrap.algorithm.hash]).toEqual(['RSA-2048', '3DES', 'SHA-1']);
    expect(pbe.wrap.details).toMatchObject({ scheme: 'pbeWithSHAAnd3-KeyTripleDES-CBC' });
  });

  it('agrees with openssl on the key inside each encrypted key file', (ctx) => {
    requirePrerequisite(ctx, needPrograms('the openssl pkey cross-check of encrypted keys', 'openssl'));
    for (const rel of [
      'keys/rsa-pkcs8-pbkdf2.pem',
      'keys/rsa-pkcs8-scrypt.pem',
      'keys/rsa-pkcs8-pbe3des.pem',
      'keys/rsa-legacy-enc.key',
      'keys/ec-sec1-legacy-enc.key',
    ]) {
      const text = execFileSync('openssl', ['pkey', '-in', join(PKI, rel), '-passin', 'pass:fixture-pass', '-noout', '-text'], { encoding: 'utf8' });
      const curve = text.match(/NIST CURVE: P-(\d+)/)?.[1];
      const want = curve ? `ECDSA-P${curve}` : `RSA-${text.match(/Private-Key: \((\d+) bit/)![1]}`;
      expect(encrypted(rel).key.algorithm.id, rel).toBe(want);
    }
  });

  it('reports OpenSSL legacy PEM encryption from DEK-Info, and the key its label and length name', () => {
    const rsa = encrypted('keys/rsa-legacy-enc.key');
    expect([rsa.key.format, rsa.key.algorithm.id, rsa.wrap.algorithm.id, rsa.wrap.algorithm.mode]).toEqual(['pkcs1', 'RSA-2048', 'AES-128', 'CBC']);
    expect(rsa.wrap.details).toMatchObject({ kdf: 'EVP_BytesToKey-MD5' });
    const ec = encrypted('keys/ec-sec1-legacy-enc.key');
    expect([ec.key.format, ec.key.algorithm.id, ec.wrap.algorithm.id]).toEqual(['sec1', 'ECDSA-P384', '3DES']);
  });

  it('names EC, Edwards, Montgomery and DSA keys', () => {
    expect(
      ['keys/ec-sec1.key', 'keys/ec-pkcs8.pem', 'keys/ec-spki.pem', 'keys/ed25519-pkcs8.pem', 'keys/x25519-spki.pem', 'keys/dsa-openssl.key'].map(
        (f) => one(f).algorithm.id,
      ),
    ).toEqual(['ECDSA-P384', 'ECDSA-P384', 'ECDSA-P384', 'Ed25519', 'X25519', 'DSA-2048']);
  });

  it('names ML-DSA and ML-KEM keys, and tells the RFC 9881 private-key forms apart', () => {
    const seed = one('realworld/lamps-ML-DSA-65-seed.priv');
    const expanded = one('realworld/lamps-ML-DSA-65-expanded.priv');
    const both = one('realworld/lamps-ML-DSA-65-both.priv');
    expect([seed, expanded, both].map((k) => [k.algorithm.id, k.quantum.status, k.details?.privateKeyFormat])).toEqual([
      ['ML-DSA-65', 'resistant', 'seed'],
      ['ML-DSA-65', 'resistant', 'expandedKey'],
      ['ML-DSA-65', 'resistant', 'both'],
    ]);
    expect(one('realworld/lamps-ML-DSA-87.pub').algorithm.id).toBe('ML-DSA-87');
    expect(one('keys/mldsa44-pkcs8.pem').algorithm.id).toBe('ML-DSA-44');
    expect(one('keys/mldsa44-spki.pem').algorithm.id).toBe('ML-DSA-44');
    const kem = one('keys/mlkem768-pkcs8.der');
    expect([kem.kind, kem.algorithm.id, kem.quantum.nistLevel, kem.details?.privateKeyFormat]).toEqual(['private-key', 'ML-KEM-768', 3, 'seed']);
    expect(one('keys/mlkem768-spki.pem').algorithm.id).toBe('ML-KEM-768');
    // 96 bytes of AES-CBC ciphertext: an ML-KEM seed key or a P-384 key without its public key. Not named; both listed.
    const kemEnc = encrypted('keys/mlkem1024-pkcs8-enc.pem');
    expect(kemEnc.key.algorithm.id).toBe('unknown');
    expect(kemEnc.key.details?.keyAlgorithmCandidates).toEqual(expect.arrayContaining(['ML-KEM-1024', 'ECDSA-P384']));
    expect(kemEnc.wrap).toMatchObject({ algorithm: { id: 'AES-256' }, details: { kdf: 'PBKDF2' } });
  });
});

describe('keys: negative and malformed', () => {
  it('finds nothing in a certificate or random DER', () => {
    expect(keys('certs/rsa2048.der')).toEqual({ findings: [], errors: [] });
    expect(keys('bad/random.der')).toEqual({ findings: [], errors: [] });
  });

  it('reports a truncated PEM key as truncated, naming the artifact and the label', () => {
    const r = keys('bad/truncated-key.pem');
    expect(r.findings).toEqual([]);
    expect(r.errors.map((e) => e.code)).toEqual(['truncated']);
    expect(r.errors[0].message).toMatch(/^PRIVATE KEY at offset 0: /);
  });

  it('reports a key whose structure is wrong as malformed', () => {
    // A PKCS#1 label around a SEQUENCE of two integers (an RSAPublicKey): not an RSAPrivateKey.
    const der = Buffer.from('300602010502010b', 'hex');
    const pem = `-----BEGIN RSA PRIVATE KEY-----\n${der.toString('base64')}\n-----END RSA PRIVATE KEY-----\n`;
    const r = detectKeys(new TextEncoder().encode(pem), ctxFor('k.key', new TextEncoder().encode(pem)));
    expect(r.findings).toEqual([]);
    if (!r.errors) throw new Error('expected errors');
    expect(r.errors[0]).toMatchObject({ code: 'malformed', offset: 0 });
    expect(r.errors[0].message).toMatch(/RSAPrivateKey needs 9 integers/);
  });
});
