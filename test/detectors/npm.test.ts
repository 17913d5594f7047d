import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { npmDetector } from '../../src/detectors/npm.js';
import { ctxFor, FIXTURES, summary } from '../helpers/scan.js';

const PKG = join(FIXTURES, 'packages');
const run = (name: string, body: string) => {
  const b = new TextEncoder().encode(body);
  const r = npmDetector.detect(b, ctxFor(name, b));
  return Array.isArray(r) ? { findings: r, errors: [], annotations: {} } : { errors: [], annotations: {}, ...r };
};

describe('npm detector', () => {
  it('packument dist.signatures: the registry key id names ECDSA P-256; an unknown key id falls back to the shape', () => {
    const r = run('npm-packument.json', readFileSync(join(PKG, 'npm-packument.json'), 'utf8'));
    expect(summary(r.findings)).toEqual(['signature npm ECDSA', 'signature npm ECDSA-P256/SHA-256']);
    const known = r.findings.find((f) => f.algorithm.id === 'ECDSA-P256')!;
    expect(known).toMatchObject({
      fingerprint: 'SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U',
      location: { path: 'versions.1.0.0.dist.signatures[0]' },
      details: { package: 'shelflife-fixture@1.0.0' },
    });
    expect(r.annotations).toEqual({ 'npm.attestations': '1.0.0 https://slsa.dev/provenance/v1' });
  });

  it('a single version document works too', () => {
    const doc = JSON.parse(readFileSync(join(PKG, 'npm-packument.json'), 'utf8')).versions['1.0.0'];
    expect(summary(run('package.json', JSON.stringify(doc)).findings)).toEqual(['signature npm ECDSA-P256/SHA-256']);
  });

  it("the registry's real keys.json (from @sigstore/tuf seeds): ECDSA P-256 keys with validity", () => {
    const r = run('keys.json', readFileSync(join(PKG, 'realworld/npm-keys.json'), 'utf8'));
    expect(summary(r.findings)).toEqual(Array(2).fill('public-key npm ECDSA-P256'));
    expect(r.findings[0]).toMatchObject({
      fingerprint: 'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA',
      notAfter: '2025-01-29T00:00:00.000Z',
      details: { keyUsage: ['npm:signatures', 'npm:attestations'] },
    });
    expect(r.findings[1].fingerprint).toBe('SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U');
    expect(new Set(r.findings.map((f) => f.location.offset)).size).toBe(2);
  });

  it('ignores a package.json without dist, and reports a key that is not a key', () => {
    expect(run('package.json', '{"name": "x", "signatures": []}').findings).toEqual([]);
    const r = run('keys.json', JSON.stringify({ keys: [{ keyId: 'k', keyUsage: 'npm:signatures', publicKey: { rawBytes: 'AAAA' } }] }));
    expect(r.errors[0].message).toMatch(/keys\[0\]\.publicKey is not a SubjectPublicKeyInfo/);
  });
});
