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

  it('reports the PBES2 cipher and KDF of encrypted PKCS#8 (PBKDF2 and scrypt) and PKCS#12 PBE', () => {
    const pbkdf2 = one('keys/rsa-pkcs8-pbkdf2.pem');
    expect([pbkdf2.kind, pbkdf2.algorithm.id, pbkdf2.algorithm.mode]).toEqual(['private-key', 'AES-256', 'CBC']);
    expect(pbkdf2.details).toMatchObject({ encrypted: true, scheme: 'PBES2', kdf: 'PBKDF2', prf: 'hmacWithSHA256', iterations: 2048 });
    const scrypt = one('keys/rsa-pkcs8-scrypt.pem');
    expect(scrypt.algorithm.id).toBe('AES-128');
    expect(scrypt.details).toMatchObject({ encrypted: true, scheme: 'PBES2', kdf: 'scrypt', cost: 16384, blockSize: 8, parallelization: 1 });
    const pbe = one('keys/rsa-pkcs8-pbe3des.pem');
    expect([pbe.algorithm.id, pbe.algorithm.hash]).toEqual(['3DES', 'SHA-1']);
    expect(pbe.details).toMatchObject({ encrypted: true, scheme: 'pbeWithSHAAnd3-KeyTripleDES-CBC' });
  });

  it('reports OpenSSL legacy PEM encryption from DEK-Info', () => {
    const rsa = one('keys/rsa-legacy-enc.key');
    expect([rsa.format, rsa.algorithm.id, rsa.algorithm.mode]).toEqual(['pkcs1', 'AES-128', 'CBC']);
    expect(rsa.details).toMatchObject({ encrypted: true, kdf: 'EVP_BytesToKey-MD5' });
    const ec = one('keys/ec-sec1-legacy-enc.key');
    expect([ec.format, ec.algorithm.id]).toEqual(['sec1', '3DES']);
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
    expect(one('keys/mlkem1024-pkcs8-enc.pem')).toMatchObject({ algorithm: { id: 'AES-256' }, details: { encrypted: true, kdf: 'PBKDF2' } });
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
