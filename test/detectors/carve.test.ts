import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { carveDetector } from '../../src/detectors/carve.js';
import { ctxFor, detectAll, FIXTURES, summary } from '../helpers/scan.js';

const PKG = join(FIXTURES, 'packages');
const run = (bytes: Uint8Array) => {
  const r = carveDetector.detect(bytes, ctxFor('fw.bin', bytes));
  return Array.isArray(r) ? r : r.findings;
};
const embed = (at: number, blob: Buffer, size = at + blob.length + 100) => {
  const img = randomBytes(size);
  blob.copy(img, at);
  return new Uint8Array(img);
};

describe('carve detector', () => {
  it('finds every key of the generated firmware image at the offset it was written to, in its layout', () => {
    const offsets = JSON.parse(readFileSync(join(PKG, 'firmware-keys.offsets.json'), 'utf8')) as Record<string, number>;
    const f = run(new Uint8Array(readFileSync(join(PKG, 'firmware-keys.bin'))));
    const got = Object.fromEntries(f.map((x) => [`${x.details?.layout}-${x.algorithm.id}`, x.location.offset]));
    expect(got).toEqual({
      'spki-RSA-2048': offsets['spki-rsa2048'],
      'pkcs1-RSA-3072': offsets['pkcs1-rsa3072'],
      'spki-ECDSA-P256': offsets['spki-p256'],
      'mincrypt-RSA-2048': offsets['mincrypt-rsa2048'],
      'avb-RSA-4096': offsets['avb-rsa4096'],
      'length-prefixed-RSA-3072': offsets['lenprefixed-rsa3072'],
    });
    expect(f.find((x) => x.details?.layout === 'mincrypt')?.details).toMatchObject({ exponent: '65537' });
  });

  it('an Ed25519 SPKI too; the SPKI inside a certificate is left to the x509 carver', () => {
    const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
    expect(summary(run(embed(333, ed)))).toEqual(['public-key carve Ed25519']);
    const bundle = readFileSync(join(PKG, 'bundle-v0.1.sigstore.json'), 'utf8');
    const certDer = new X509Certificate(Buffer.from(JSON.parse(bundle).verificationMaterial.x509CertificateChain.certificates[0].rawBytes, 'base64')).raw;
    const img = embed(1000, certDer);
    expect(run(img)).toEqual([]);
    expect(summary(detectAll('fw.bin', img).findings)).toEqual(['certificate x509 ECDSA-P256/SHA-384']);
  });

  it('an ML-DSA-87 SPKI (IETF LAMPS example key) inside zero-filled flash', () => {
    const pem = readFileSync(join(FIXTURES, 'pki', 'realworld', 'lamps-ML-DSA-87.pub'), 'utf8');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const img = Buffer.alloc(8 * 1024 * 1024);
    der.copy(img, 4 * 1024 * 1024 + 3);
    const f = run(new Uint8Array(img));
    expect(f.map((x) => [x.algorithm.id, x.quantum.status, x.location.offset])).toEqual([['ML-DSA-87', 'resistant', 4 * 1024 * 1024 + 3]]);
  });

  it('does not report RSA private keys, bad exponents, even moduli, or a Montgomery blob with a wrong n0inv', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(run(embed(10, privateKey.export({ format: 'der', type: 'pkcs1' })))).toEqual([]);
    const pkcs1 = publicKey.export({ format: 'der', type: 'pkcs1' });
    const badE = Buffer.from(pkcs1);
    badE[badE.length - 1] = 0x03; // 65539: not 3/17/65537
    expect(run(embed(10, badE))).toEqual([]);
    const even = Buffer.from(pkcs1);
    even[even.length - 6] &= 0xfe; // modulus' last byte
    expect(run(embed(10, even))).toEqual([]);
    const fw = Buffer.from(readFileSync(join(PKG, 'firmware-keys.bin')));
    const offsets = JSON.parse(readFileSync(join(PKG, 'firmware-keys.offsets.json'), 'utf8')) as Record<string, number>;
    fw[offsets['mincrypt-rsa2048'] + 4] ^= 0x01;
    fw[offsets['avb-rsa4096'] + 7] ^= 0x01;
    expect(
      run(new Uint8Array(fw))
        .map((x) => x.details?.layout)
        .sort(),
    ).toEqual(['length-prefixed', 'pkcs1', 'spki', 'spki']);
  });

  it('leaves the keys inside an AVB vbmeta image to the avb detector', () => {
    const f = detectAll('vbmeta.img', new Uint8Array(readFileSync(join(FIXTURES, 'firmware', 'vbmeta.img')))).findings;
    expect(f.filter((x) => x.kind === 'public-key').map((x) => x.format)).toEqual(['avb', 'avb']);
    expect(run(new Uint8Array(readFileSync(join(FIXTURES, 'firmware', 'vbmeta.img'))))).toEqual([]);
  });

  it('64 MiB of random bytes yield nothing', () => {
    const noise = new Uint8Array(randomBytes(64 * 1024 * 1024));
    const t = performance.now();
    expect(run(noise)).toEqual([]);
    console.info(`carve: 64 MiB of random bytes in ${Math.round(performance.now() - t)} ms`);
  });
});
