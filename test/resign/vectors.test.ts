/**
 * draft-ietf-lamps-pq-composite-sigs-19 official vectors (src/testvectors.json): for every algorithm shelflife
 * supports, `s` and `sWithContext` verify, `pk`, `sk_pkcs8` and `x5c` parse (and agree), and sign→verify round-trips.
 */
import { describe, expect, it } from 'vitest';
import { readSigningCertificate } from '../../src/resign/cert.js';
import {
  DEFAULT_ALGORITHM,
  findAlgorithm,
  generateKey,
  privateKeyFromBytes,
  publicKeyFromBytes,
  requireAlgorithm,
  sign,
  signatureAlgorithms,
  verify,
} from '../../src/resign/composite.js';
import { decodePkcs8, encodePkcs8 } from '../../src/resign/keys.js';
import { b64, flip, isSelfSigned, loadVectors } from './_helpers.js';

const vectors = loadVectors();
const REQUIRED = [
  'id-MLDSA65-ECDSA-P256-SHA512',
  'id-MLDSA65-Ed25519-SHA512',
  'id-MLDSA87-ECDSA-P384-SHA512',
  'id-MLDSA44-ECDSA-P256-SHA256',
  'id-MLDSA65-RSA3072-PSS-SHA512',
  'id-MLDSA65-RSA4096-PSS-SHA512',
  'id-ml-dsa-44',
  'id-ml-dsa-65',
  'id-ml-dsa-87',
];

describe('algorithm table (from the catalogue)', () => {
  it('has every algorithm the issue requires, and the default is MLDSA65-ECDSA-P256-SHA512', () => {
    for (const name of REQUIRED) expect(findAlgorithm(name), name).toBeDefined();
    expect(requireAlgorithm(DEFAULT_ALGORITHM).oid).toBe('1.3.6.1.5.5.7.6.45');
    expect(requireAlgorithm('mldsa65-ed25519').id).toBe('ML-DSA-65+Ed25519');
    expect(() => requireAlgorithm('rsa2048')).toThrow(/unknown algorithm "rsa2048"/);
  });
});

describe('composite-sigs test vectors', () => {
  const v = vectors;
  it('covers every supported algorithm', () => {
    const names = new Set(v.tests.map((t) => t.tcId.toLowerCase()));
    for (const a of signatureAlgorithms()) {
      const vectorName = a.traditional ? a.name : `id-ML-DSA-${a.mldsaId.slice(7)}`;
      expect(names.has(vectorName.toLowerCase()), vectorName).toBe(true);
    }
  });

  for (const t of vectors.tests) {
    it(`${t.tcId}: s and sWithContext verify; pk, sk_pkcs8, x5c parse and agree; round trip`, () => {
      const alg = findAlgorithm(t.tcId);
      expect(alg, `${t.tcId} is supported`).toBeDefined();
      const pk = publicKeyFromBytes(alg!, b64(t.pk));
      expect(verify(pk, v.m, b64(t.s))).toMatchObject({ valid: true });
      expect(verify(pk, v.m, b64(t.sWithContext), v.ctx)).toMatchObject({ valid: true });
      // The context is bound: sWithContext without it, or s with it, must fail.
      expect(verify(pk, v.m, b64(t.sWithContext)).valid).toBe(false);
      expect(verify(pk, v.m, b64(t.s), v.ctx).valid).toBe(false);

      const fromPkcs8 = decodePkcs8(b64(t.sk_pkcs8), t.tcId);
      expect(Buffer.from(fromPkcs8.bytes).equals(Buffer.from(b64(t.sk)))).toBe(true);
      expect(Buffer.from(fromPkcs8.publicKey.bytes).equals(Buffer.from(pk.bytes))).toBe(true);
      // Our PKCS#8 encoding of the same key is the vector's, byte for byte.
      expect(Buffer.from(encodePkcs8(fromPkcs8)).toString('base64')).toBe(t.sk_pkcs8);

      const cert = readSigningCertificate(b64(t.x5c), t.tcId);
      expect(cert.publicKey.alg.oid).toBe(alg!.oid);
      expect(Buffer.from(cert.publicKey.bytes).equals(Buffer.from(pk.bytes))).toBe(true);
      expect(isSelfSigned(cert)).toBe(true);

      const sk = privateKeyFromBytes(alg!, b64(t.sk));
      const sig = sign(sk, v.m, v.ctx);
      expect(verify(pk, v.m, sig, v.ctx).valid).toBe(true);
      expect(verify(pk, flip(v.m, 0), sig, v.ctx).valid).toBe(false);
    });
  }
});

describe('tamper: verify says which half failed', () => {
  for (const name of ['mldsa65-ecdsa-p256', 'mldsa65-ed25519', 'mldsa65-rsa3072-pss']) {
    it(name, () => {
      const key = generateKey(requireAlgorithm(name));
      const msg = new TextEncoder().encode('firmware image');
      const sig = sign(key, msg);
      const n = key.alg.mldsa.lengths.signature!;
      expect(verify(key.publicKey, msg, sig)).toEqual({ valid: true, mldsa: true, traditional: true });
      const badPq = verify(key.publicKey, msg, flip(sig, 100));
      expect(badPq).toMatchObject({ valid: false, mldsa: false, traditional: true });
      expect(badPq.reason).toMatch(/ML-DSA-65 half/);
      const badClassical = verify(key.publicKey, msg, flip(sig, sig.length - 8));
      expect(badClassical).toMatchObject({ valid: false, mldsa: true, traditional: false });
      expect(badClassical.reason).toMatch(new RegExp(`${key.alg.traditional!.id} half`));
      expect(verify(key.publicKey, msg, sig.subarray(0, n)).valid).toBe(false);
      expect(verify(key.publicKey, msg, new Uint8Array(0)).valid).toBe(false);
    });
  }
});
