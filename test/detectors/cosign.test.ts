import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cosignDetector } from '../../src/detectors/cosign.js';
import { ctxFor, FIXTURES, summary } from '../helpers/scan.js';

const PKG = join(FIXTURES, 'packages');
const run = (body: string) => {
  const b = new TextEncoder().encode(body);
  const r = cosignDetector.detect(b, ctxFor('payload.json', b));
  return Array.isArray(r) ? { findings: r, errors: [], annotations: {} } : { errors: [], annotations: {}, ...r };
};

describe('cosign detector', () => {
  it('simple signing payload: image reference and manifest digest as annotations, no finding of its own', () => {
    const r = run(readFileSync(join(PKG, 'simple-signing.json'), 'utf8'));
    expect(r.findings).toEqual([]);
    expect(r.annotations).toEqual({
      'cosign.dockerReference': 'registry.example/shelflife/app',
      'cosign.manifestDigest': expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      'cosign.type': 'cosign container image signature',
    });
  });

  it('cosign blob bundle: the signature takes its certificate key', () => {
    const bundle = JSON.parse(readFileSync(join(PKG, 'bundle-v0.1.sigstore.json'), 'utf8'));
    const leaf = bundle.verificationMaterial.x509CertificateChain.certificates[0].rawBytes as string;
    const pem = `-----BEGIN CERTIFICATE-----\n${leaf.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
    const r = run(JSON.stringify({ base64Signature: bundle.messageSignature.signature, cert: Buffer.from(pem).toString('base64'), rekorBundle: {} }));
    expect(summary(r.findings)).toEqual(['certificate cosign ECDSA-P256/SHA-384', 'signature cosign ECDSA-P256']);
  });

  it('a blob bundle without a certificate falls back to the signature shape', () => {
    const bundle = JSON.parse(readFileSync(join(PKG, 'bundle-v0.1.sigstore.json'), 'utf8'));
    const r = run(JSON.stringify({ base64Signature: bundle.messageSignature.signature }));
    expect(r.findings[0].algorithm).toMatchObject({ id: 'ECDSA', parameterKnown: false });
  });

  it('a key-made RSA signature is sized by its length (RFC 8017 §8.2.1); Ed25519-sized and odd lengths stay unknown', () => {
    const sizes: [number, string][] = [
      [256, 'RSA-2048'],
      [384, 'RSA-3072'],
      [512, 'RSA-4096'],
    ];
    for (const [n, id] of sizes) {
      const [f] = run(JSON.stringify({ base64Signature: Buffer.alloc(n, 0x5a).toString('base64') })).findings;
      expect(f.algorithm.id, String(n)).toBe(id);
      expect(f.details).toMatchObject({ parameterFrom: 'signature-length', signatureBytes: n });
    }
    // 64 bytes: Ed25519 or a raw P-256 r‖s; 250 bytes: no RSA modulus size. Neither is guessed.
    for (const n of [64, 250]) {
      const [f] = run(JSON.stringify({ base64Signature: Buffer.alloc(n, 0x5a).toString('base64') })).findings;
      expect(f.algorithm.id, String(n)).toBe('unknown');
      expect(f.details?.parameterFrom).toBeUndefined();
    }
  });

  it('ignores other JSON', () => expect(run('{"critical": "no"}')).toEqual({ findings: [], errors: [], annotations: {} }));
});
