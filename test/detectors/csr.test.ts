/**
 * PKCS#10 certificate requests (src/detectors/csr.ts) made by OpenSSL (fixtures/pki/csr-*, fixtures/gen/pki.sh), each
 * checked against `openssl req -text`: RSA-3072, P-256, Ed25519, and a brainpoolP384r1 key with explicit parameters
 * (DER) named by matching the parameters against the known curves.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { detectAll, FIXTURES } from '../helpers/scan.js';

const DIR = join(FIXTURES, 'pki');
const read = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));
const csr = (f: string, bytes = read(f)) => {
  const r = detectAll(f, bytes);
  return { findings: r.findings.filter((x) => x.format === 'csr'), errors: r.errors.filter((e) => e.source === 'csr') };
};

describe('csr detector', () => {
  it.each([
    ['csr-rsa3072.pem', 'RSA-3072', 'SHA-256', 'CN=shelflife csr rsa, O=fixture'],
    ['csr-p256.pem', 'ECDSA-P256', 'SHA-384', 'CN=shelflife csr p256'],
    ['csr-ed25519.pem', 'Ed25519', undefined, 'CN=shelflife csr ed25519'],
    ['csr-explicit-brainpoolP384r1.csr', 'ECDSA-brainpoolP384r1', 'SHA-384', 'CN=shelflife csr explicit brainpoolP384r1'],
  ])('%s: %s, its self-signature sized by the key', (file, id, hash, subject) => {
    const r = csr(file);
    expect(r.errors).toEqual([]);
    expect(r.findings).toHaveLength(1);
    const [f] = r.findings;
    expect(f).toMatchObject({ kind: 'public-key', algorithm: { id }, details: { certificateRequest: true, signatureAlgorithm: { id } } });
    expect(f.subject?.replace(/,\s*/g, ', ')).toContain(subject.split(',')[0]);
    expect((f.details?.signatureAlgorithm as { hash?: string }).hash).toBe(hash);
    if (file.includes('explicit')) expect(f.details).toMatchObject({ explicitCurveParameters: true });
  });

  it('agrees with openssl req -text', (ctx) => {
    requirePrerequisite(ctx, needPrograms('the openssl req cross-check', 'openssl'));
    const text = (f: string) =>
      execFileSync('openssl', ['req', '-noout', '-text', '-inform', f.endsWith('.csr') ? 'DER' : 'PEM', '-in', join(DIR, f)]).toString();
    expect(text('csr-rsa3072.pem')).toMatch(/Public-Key: \(3072 bit\)/);
    expect(text('csr-p256.pem')).toMatch(/NIST CURVE: P-256/);
    expect(text('csr-ed25519.pem')).toMatch(/Public Key Algorithm: ED25519/);
    // Explicit parameters: openssl prints the prime field; it is brainpoolP384r1's prime (RFC 5639 §3.6).
    const explicit = text('csr-explicit-brainpoolP384r1.csr').replace(/[\s:]/g, '');
    expect(explicit).toContain('8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec53'.toLowerCase());
  });

  it('negative and malformed: a certificate is not a request; a broken request is an error', () => {
    expect(csr('x.pem', new TextEncoder().encode('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).findings).toEqual([]);
    const bad = csr('x.pem', new TextEncoder().encode('-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQA=\n-----END CERTIFICATE REQUEST-----\n'));
    expect(bad.findings).toEqual([]);
    expect(bad.errors.map((e) => e.code)).toEqual(['malformed']);
    expect(csr('x.csr', Uint8Array.from([0x30, 0x05, 0x02, 0x01])).errors.map((e) => e.code)).toEqual(['truncated']);
  });
});
