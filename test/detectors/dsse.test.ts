import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeSignatureShape, dsseDetector } from '../../src/detectors/dsse.js';
import { ctxFor, FIXTURES, summary } from '../helpers/scan.js';

const PKG = join(FIXTURES, 'packages');
const run = (name: string, body: string | Uint8Array) => {
  const b = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const r = dsseDetector.detect(b, ctxFor(name, b));
  return Array.isArray(r) ? { findings: r, annotations: {} } : { annotations: {}, ...r };
};
const read = (f: string) => new Uint8Array(readFileSync(join(PKG, f)));

describe('dsse detector', () => {
  it('in-toto SLSA v1 provenance (JSON Lines): ECDSA from the DER shape, builder and subjects as annotations', () => {
    const r = run('provenance.intoto.jsonl', read('provenance.intoto.jsonl'));
    expect(summary(r.findings)).toEqual(['signature dsse ECDSA']);
    expect(r.findings[0]).toMatchObject({ fingerprint: 'SHA256:fixture-ecdsa', algorithm: { parameterKnown: false } });
    expect(r.findings[0].details?.algorithmFrom).toMatch(/DER ECDSA signature shape .*256-bit curve/);
    expect(r.annotations).toMatchObject({
      'intoto.statementType': 'https://in-toto.io/Statement/v1',
      'slsa.builderId': 'https://github.com/shelflife/fixtures/.github/workflows/release.yml@refs/tags/v1.0',
      'slsa.buildType': 'https://github.com/actions/runner/github-hosted',
    });
  });

  it('SLSA v0.2 builder id; Ed25519 and RSA signatures cannot be told from their bytes: unknown, honestly', () => {
    const ed = run('a.dsse.json', read('slsa02-ed25519.dsse.json'));
    expect(summary(ed.findings)).toEqual(['signature dsse unknown']);
    expect(ed.findings[0].details).toMatchObject({ signatureBytes: 64, algorithmFrom: expect.stringMatching(/not determinable/) });
    expect(ed.annotations).toMatchObject({
      'slsa.builderId': 'https://cloudbuild.googleapis.com/GoogleHostedWorker@v0.3',
      'intoto.predicateType': 'https://slsa.dev/provenance/v0.2',
    });
    expect(summary(run('r.dsse.json', read('rsa.dsse.json')).findings)).toEqual(['signature dsse unknown']);
  });

  it('signature shapes: DER ECDSA per curve size, ML-DSA sizes, nothing else guessed', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    expect(describeSignatureShape(sign('sha384', Buffer.from('x'), p384))?.from).toMatch(/384-bit/);
    expect(describeSignatureShape(new Uint8Array(3309))?.described.algorithm.id).toBe('ML-DSA-65');
    expect(describeSignatureShape(new Uint8Array(256))).toBeUndefined();
    // A DER SEQUENCE of two INTEGERs followed by junk is not a signature.
    const der = sign('sha256', Buffer.from('x'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    expect(describeSignatureShape(new Uint8Array(Buffer.concat([der, Buffer.from([0])])))).toBeUndefined();
  });

  it('ignores non-DSSE JSON and reports broken JSON', () => {
    expect(run('x.json', '{"payloadType": 3, "signatures": []}').findings).toEqual([]);
    expect(() => run('x.dsse.json', '{"payloadType": "a",')).toThrow(/not valid JSON/);
    const bad = run(
      'x.dsse.json',
      JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: Buffer.from('{nope').toString('base64'), signatures: [] }),
    );
    expect(bad.annotations).toEqual({ 'intoto.error': 'payload is not valid JSON' });
  });
});
