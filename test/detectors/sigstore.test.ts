import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sigstoreDetector } from '../../src/detectors/sigstore.js';
import { ctxFor, FIXTURES, summary } from '../helpers/scan.js';

const PKG = join(FIXTURES, 'packages');
const text = (f: string) => readFileSync(join(PKG, f), 'utf8');
const run = (name: string, body: string) => {
  const b = new TextEncoder().encode(body);
  const r = sigstoreDetector.detect(b, ctxFor(name, b));
  return Array.isArray(r) ? { findings: r, errors: [], annotations: {} } : { errors: [], annotations: {}, ...r };
};

describe('sigstore detector', () => {
  it('v0.1 bundle: certificate chain and a message signature named by the leaf key (Fulcio: ECDSA P-256)', () => {
    const r = run('b.sigstore.json', text('bundle-v0.1.sigstore.json'));
    expect(summary(r.findings)).toEqual([
      'certificate sigstore ECDSA-P256/SHA-384',
      'certificate sigstore ECDSA-P384/SHA-384',
      'signature sigstore ECDSA-P256/SHA-256',
    ]);
    const sig = r.findings.find((f) => f.kind === 'signature')!;
    expect(sig.details).toMatchObject({ algorithmFrom: 'signing certificate', signatureBytes: expect.any(Number) });
    expect(sig.subject).toMatch(/shelflife/);
    expect(r.annotations).toMatchObject({ 'sigstore.bundleVersion': '0.1', 'sigstore.tlogEntries': '0' });
  });

  it('v0.2 and v0.3 bundles with a DSSE envelope: signature from the certificate, provenance as annotations', () => {
    for (const [f, version, certs] of [
      ['bundle-v0.2.sigstore.json', '0.2', 2],
      ['bundle-v0.3.sigstore.json', '0.3', 1],
    ] as const) {
      const r = run('b.sigstore.json', text(f));
      expect(r.findings.filter((x) => x.kind === 'certificate')).toHaveLength(certs);
      const sig = r.findings.filter((x) => x.kind === 'signature');
      expect(summary(sig)).toEqual(['signature sigstore ECDSA-P256']);
      expect(sig[0].location.path).toBe('dsseEnvelope.signatures[0]');
      expect(r.annotations).toMatchObject({
        'sigstore.bundleVersion': version,
        'intoto.predicateType': 'https://slsa.dev/provenance/v1',
        'slsa.builderId': 'https://github.com/shelflife/fixtures/.github/workflows/release.yml@refs/tags/v1.0',
        'intoto.subjects': expect.stringMatching(/^shelflife-fixture_1\.0_all\.deb@sha256:[0-9a-f]{64}$/),
      });
    }
  });

  it('public-key hint only: ECDSA from the DER signature shape, curve unknown', () => {
    const r = run('b.sigstore.json', text('bundle-pubkey.sigstore.json'));
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0].algorithm).toMatchObject({ id: 'ECDSA', parameterKnown: false, hash: 'SHA-256' });
    expect(r.findings[0].fingerprint).toBe('shelflife-fixture-key');
  });

  it('the real Sigstore trusted root (from @sigstore/tuf seeds): Fulcio/TSA chains and log keys', () => {
    const r = run('trusted_root.json', text('realworld/sigstore-trusted_root.json'));
    expect(summary(r.findings)).toEqual([
      ...Array(5).fill('certificate sigstore ECDSA-P384/SHA-384'),
      'public-key sigstore ECDSA-P256',
      'public-key sigstore ECDSA-P256',
      'public-key sigstore ECDSA-P256',
      'public-key sigstore Ed25519',
    ]);
    expect(r.findings.find((f) => f.location.path === 'tlogs[1].publicKey')?.details).toMatchObject({ keyDetails: 'PKIX_ED25519' });
  });

  it('ignores JSON that is not a bundle, and reports broken material', () => {
    expect(run('x.json', '{"mediaType":"application/json"}').findings).toEqual([]);
    const broken = JSON.parse(text('bundle-v0.3.sigstore.json'));
    broken.verificationMaterial.certificate.rawBytes = 'AAAA';
    delete broken.dsseEnvelope;
    const r = run('b.sigstore.json', JSON.stringify(broken));
    expect(r.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/verificationMaterial\.certificate is not a certificate/),
      expect.stringMatching(/neither messageSignature nor dsseEnvelope/),
    ]);
    expect(() => run('b.sigstore.json', '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", ')).toThrow(/not valid JSON/);
  });
});
