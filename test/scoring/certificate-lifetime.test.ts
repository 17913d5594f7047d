/**
 * Issue 16 item 2: a certificate is relied on until its notAfter, and a root's self-signature is not what relying
 * parties verify. On the Mozilla root GlobalSign Root CA (fixtures/pki/realworld), with its dates read by OpenSSL
 * (node:crypto's X509Certificate), not by our parser.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ArtifactResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import { scoreScan, yearFraction } from '../../src/scoring/index.js';
import { FIXTURES } from '../helpers/scan.js';
import { artifact, finding, scanOf } from './helpers.js';

const ROOT = join(FIXTURES, 'pki', 'realworld', 'mozilla-GlobalSign_Root_CA.crt');
const NOW = new Date('2026-06-01T00:00:00Z');

async function scoredRoot(extra: Partial<ArtifactResult> = {}): Promise<ArtifactResult> {
  const result = await scan({ targets: [ROOT], scoring: false, now: () => NOW });
  const a = result.artifacts.find((x) => x.uri === pathToFileURL(ROOT).href)!;
  Object.assign(a, extra);
  scoreScan(result, { now: NOW });
  return a;
}

describe('GlobalSign Root CA (Mozilla root store)', () => {
  const openssl = new X509Certificate(readFileSync(ROOT));
  const notAfter = new Date(openssl.validTo);

  it('is trusted until its notAfter, not "retired" ten years after its notBefore', async () => {
    expect(notAfter.toISOString().slice(0, 10)).toBe('2028-01-28');
    const a = await scoredRoot();
    const f = a.findings[0];
    expect(f.details?.selfSigned).toBe(true);
    expect(a.lifetime?.source).toBe('certificate:notAfter');
    expect(f.exposure?.inputs?.inServiceUntil).toBeCloseTo(yearFraction(notAfter), 3);
    expect(f.exposure?.inputs?.inServiceUntilSource).toBe('certificate notAfter');
    expect(f.exposure?.explanation).not.toMatch(/retired since/);
    expect(f.exposure?.explanation).toContain('trusted until it expires 2028-01');
  });

  it('its SHA-1 self-signature is said not to be a forgery exposure, and is not scored as one', async () => {
    const a = await scoredRoot();
    const f = a.findings[0];
    expect(f.algorithm.hash).toBe('SHA-1');
    expect(f.exposure?.deadlinesMissed ?? []).not.toContainEqual(expect.stringMatching(/SHA-1/));
    expect(f.exposure?.inputs?.waivedRules).toEqual(['classical-weak-hash-signature']);
    expect(f.exposure?.explanation).toMatch(/SHA-1 self-signature is not a forgery exposure/);
    // RSA-2048 until 2028 + 2 years to migrate: a quantum exposure that is real but low, not "critical".
    expect(a.exposure?.severity).toBe('low');
  });

  it('a retirement (it left the trust store) still ends it sooner', async () => {
    const a = await scoredRoot({ retired: { at: '2026-03-01T00:00:00Z', reason: 'removed from the store' } });
    expect(a.lifetime?.source).toBe('retired');
    expect(a.findings[0].exposure?.explanation).toMatch(/retired since 2026-03/);
  });
});

describe('SHA-1 on a certificate an issuer signed', () => {
  const sha1 = (details: Record<string, unknown>) =>
    finding('certificate', 'RSA-2048', {
      hash: 'SHA-1',
      subject: 'CN=leaf',
      issuer: 'CN=GlobalSign Root CA',
      notBefore: '2024-01-01T00:00:00Z',
      notAfter: '2027-01-01T00:00:00Z',
      details,
    });

  it('is still a forgery exposure (issued certificates and self-issued link certificates alike)', () => {
    for (const details of [{ selfSigned: false }, {}]) {
      const a = artifact('file:///x/leaf.pem', [sha1(details)]);
      scoreScan(scanOf([a]), { now: NOW });
      expect(a.exposure?.severity).toBe('critical');
      expect(a.findings[0].exposure?.deadlinesMissed).toContainEqual(expect.stringMatching(/SHA-1, a collision-broken hash/));
    }
  });
});

describe('certificate lifetime from notAfter', () => {
  it('a later notAfter extends a class lifetime, and a stated lifetime still bounds it', () => {
    const cert = () =>
      finding('certificate', 'RSA-4096', {
        hash: 'SHA-256',
        notBefore: '2020-01-01T00:00:00Z',
        notAfter: '2045-01-01T00:00:00Z',
        details: { selfSigned: true },
      });
    const plain = artifact('file:///x/root.pem', [cert()]);
    const stated = artifact('file:///x/root2.pem', [cert()], { annotations: { 'shelflife.lifetime': '8y' } });
    scoreScan(scanOf([plain, stated]), { now: NOW });
    expect(plain.lifetime).toEqual({ years: 25, source: 'certificate:notAfter' });
    expect(plain.findings[0].exposure?.inputs?.inServiceUntil).toBe(2045);
    expect(stated.lifetime?.source).toBe('annotation:shelflife.lifetime');
    expect(stated.findings[0].exposure?.inputs?.inServiceUntil).toBe(2028);
  });
});
