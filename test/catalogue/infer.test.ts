/**
 * The parameter-inference rules (src/catalogue/infer.ts) as a table: what a value's size proves about the key, and
 * what it does not. Values with leading zero bytes (an OpenPGP MPI drops them: about one signature in 256) and curves
 * of the same size are the cases that matter.
 */
import { describe, expect, it } from 'vitest';
import { catalogue } from '../../src/catalogue/index.js';
import {
  dsaSubgroupBitsFromMpi,
  MPI_SLACK_BITS,
  modulusBitsFromMpi,
  openPgpEcdsaCurveFromMpi,
  rsaBitsFromOctets,
  rsaFromOctets,
  sizedFamily,
} from '../../src/catalogue/infer.js';

describe('inference: RSA values of a fixed octet length (RFC 8017 I2OSP(·, k))', () => {
  it.each([
    [128, 1024],
    [256, 2048],
    [384, 3072],
    [512, 4096],
    [1024, 8192],
    // 2047-bit moduli still take 256 octets: the id says 2048, as for a key of that octet length.
    [255, 2040],
    [64, 512],
  ])('%i octets → %i bits', (octets, bits) => expect(rsaBitsFromOctets(octets)).toBe(bits));

  it.each([0, 32, 63, 2049, 4096, 2.5, -256])('%s octets is not an RSA value anyone makes', (octets) => expect(rsaBitsFromOctets(octets)).toBeUndefined());

  it('names the id through the catalogue and says how it was known', () => {
    const entry = catalogue().data.jose.RS256;
    expect(rsaFromOctets(entry, 384, 'signature-length')).toMatchObject({
      algorithm: { id: 'RSA-3072', family: 'RSA', hash: 'SHA-256' },
      quantum: { status: 'vulnerable', classicalBits: 128 },
      parameterFrom: 'signature-length',
    });
    const unknown = rsaFromOctets(entry, 20, 'signature-length');
    expect(unknown.algorithm).toMatchObject({ id: 'RSA', parameterKnown: false });
    expect(unknown.parameterFrom).toBeUndefined();
  });
});

describe('inference: OpenPGP MPIs drop leading zero bits (RFC 9580 §3.2)', () => {
  it.each([
    // [MPI bits, modulus] — exact sizes, and values with 1–31 leading zero bits
    [2048, 2048],
    [2046, 2048], // detached-rsa-sha1.sig fixture (gpg --list-packets: 2046 bits)
    [3061, 3072], // the example: a 3,061-bit signature from a 3072-bit key
    [3066, 3072], // fixtures/packages/shelflife-fixture_1.0_amd64.changes
    [3070, 3072], // fixtures/packages/Release.gpg
    [4089, 4096], // fixtures/openpgp/inline-zlib.gpg: a leading zero byte
    [4096, 4096],
    [4081, 4096], // two leading zero bytes
    [1024, 1024],
    [1017, 1024],
    [1536, 1536],
    [8192, 8192],
    [7680, 7680],
  ])('%i bits → %i', (bits, modulus) => expect(modulusBitsFromMpi(bits)).toBe(modulus));

  it('refuses a size the slack does not reach: 32 or more leading zero bits is a 2^-32 event, not evidence', () => {
    expect(MPI_SLACK_BITS).toBe(32);
    expect(modulusBitsFromMpi(2048 - 31)).toBe(2048);
    expect(modulusBitsFromMpi(2048 - 32)).toBeUndefined();
    expect(modulusBitsFromMpi(2500)).toBeUndefined();
    expect(modulusBitsFromMpi(0)).toBeUndefined();
    expect(modulusBitsFromMpi(20000)).toBeUndefined();
  });

  it('ElGamal p from the larger of g^k and m·y^k', () => {
    const entry = catalogue().data.openpgp.publicKey['16'];
    expect(sizedFamily(entry, modulusBitsFromMpi(Math.max(2041, 2047)), 'mpi-length')).toMatchObject({
      algorithm: { id: 'ElGamal-2048' },
      parameterFrom: 'mpi-length',
    });
  });

  it.each([
    [160, 160],
    [152, 160],
    [224, 224],
    [219, 224],
    [256, 256],
    [250, 256],
  ])('DSA r/s of %i bits → q of %i bits (never p)', (bits, q) => expect(dsaSubgroupBitsFromMpi(bits)).toBe(q));

  it('DSA values larger than any q are not DSA values', () => expect(dsaSubgroupBitsFromMpi(300)).toBeUndefined());
});

describe('inference: curves that share a size are never guessed', () => {
  it.each([
    [256, undefined], // P-256, brainpoolP256r1, secp256k1
    [255, undefined],
    [384, undefined], // P-384, brainpoolP384r1
    [512, undefined], // brainpoolP512r1, or P-521 with leading zeros
    [505, undefined],
    [513, 'P521'], // only P-521's order exceeds 2^512
    [521, 'P521'],
    [522, undefined], // no OpenPGP curve
  ])('ECDSA r/s of %i bits → %s', (bits, curve) => expect(openPgpEcdsaCurveFromMpi(bits)).toBe(curve));

  it('a family entry without a size stays the family with parameterKnown false', () => {
    const entry = catalogue().data.openpgp.publicKey['19'];
    const d = sizedFamily(entry, undefined, 'mpi-length');
    expect(d.algorithm).toMatchObject({ id: 'ECDSA', parameterKnown: false });
    expect(d.parameterFrom).toBeUndefined();
  });
});
