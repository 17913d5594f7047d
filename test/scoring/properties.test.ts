/**
 * Monotonicity: a longer lifetime or an earlier CRQC never lowers a score, and a resistant or hybrid algorithm never
 * scores above a vulnerable one on the same artifact (same kind, use, class, dates, hash and policies).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FindingKind } from '../../src/model.js';
import { bundledScoringRules, fixedYearTimeline, scoreFinding, selectTimeline, type FindingScoringInput } from '../../src/scoring/index.js';
import type { Timeline } from '../../src/scoring/timeline.js';
import { finding } from './helpers.js';

const rules = bundledScoringRules();
const ALL_POLICIES = [...rules.policies.values()];
const CLASSES = Object.keys(rules.lifetimes.classes);
const TIMELINES: Timeline[] = Object.keys(rules.timelines.timelines).map((name) => selectTimeline([rules.timelines.timelines], { name, defaultName: name }));

const VULNERABLE_SIGNING = ['RSA-1024', 'RSA-2048', 'RSA-3072', 'RSA-4096', 'DSA-2048', 'ECDSA-P256', 'ECDSA-P384', 'ECDSA-P224', 'Ed25519', 'Ed448'];
const SAFE_SIGNING = ['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87', 'SLH-DSA-SHA2-128s', 'LMS', 'XMSS', 'ML-DSA-65+ECDSA-P256', 'ML-DSA-87+ECDSA-P384'];
const VULNERABLE_KEX = ['ECDH-P256', 'ECDH-P384', 'X25519', 'DH-2048'];
const SAFE_KEX = ['ML-KEM-768', 'ML-KEM-1024', 'ML-KEM-768+X25519'];
const VULNERABLE_ENC = ['RSA-2048', 'RSA-3072', 'ECDH-P256', 'X25519'];
const SAFE_ENC = ['AES-256', 'ML-KEM-768', 'ChaCha20-Poly1305', 'ML-KEM-768+X25519'];
const HASHES = [undefined, 'SHA-256', 'SHA-384', 'SHA-1', 'MD5'];

const base = fc.record({
  cls: fc.constantFrom(...CLASSES),
  lifetime: fc.double({ min: 0, max: 40, noNaN: true }),
  secrecy: fc.double({ min: 0, max: 40, noNaN: true }),
  migration: fc.double({ min: 0, max: 10, noNaN: true }),
  harvest: fc.double({ min: 0, max: 1, noNaN: true }),
  copies: fc.integer({ min: 1, max: 20 }),
  created: fc.double({ min: 2000, max: 2040, noNaN: true }),
  now: fc.double({ min: 2020, max: 2040, noNaN: true }),
  timeline: fc.constantFrom(...TIMELINES),
  policies: fc.subarray(ALL_POLICIES),
  hash: fc.constantFrom(...HASHES),
});

type Base = typeof base extends fc.Arbitrary<infer T> ? T : never;

function input(b: Base, kind: FindingKind, id: string, over: Partial<FindingScoringInput> = {}): FindingScoringInput {
  return {
    finding: finding(kind, id, b.hash ? { hash: b.hash, format: 'cms' } : { format: 'cms' }),
    artifactClass: b.cls,
    lifetime: b.lifetime,
    secrecy: b.secrecy,
    migration: b.migration,
    harvest: b.harvest,
    copies: b.copies,
    created: Math.min(b.created, b.now),
    now: b.now,
    timeline: b.timeline,
    policies: b.policies,
    ...over,
  };
}

const signingPair = fc.record({
  kind: fc.constantFrom<FindingKind>('signature', 'certificate', 'public-key', 'private-key'),
  vuln: fc.constantFrom(...VULNERABLE_SIGNING),
  safe: fc.constantFrom(...SAFE_SIGNING),
});
const kexPair = fc.record({
  kind: fc.constantFrom<FindingKind>('public-key', 'private-key', 'certificate'),
  vuln: fc.constantFrom(...VULNERABLE_KEX),
  safe: fc.constantFrom(...SAFE_KEX),
});
const encPair = fc.record({ kind: fc.constant<FindingKind>('encrypted-data'), vuln: fc.constantFrom(...VULNERABLE_ENC), safe: fc.constantFrom(...SAFE_ENC) });
const anyPair = fc.oneof(signingPair, kexPair, encPair);

describe('scoring properties', () => {
  it('a longer lifetime never lowers a score', () => {
    fc.assert(
      fc.property(base, anyPair, fc.double({ min: 0, max: 30, noNaN: true }), (b, pair, extra) => {
        for (const id of [pair.vuln, pair.safe]) {
          const short = scoreFinding(input(b, pair.kind, id));
          const long = scoreFinding(input(b, pair.kind, id, { lifetime: b.lifetime + extra }));
          expect(long.score).toBeGreaterThanOrEqual(short.score);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a longer secrecy horizon or more copies never lowers a score', () => {
    fc.assert(
      fc.property(base, anyPair, fc.double({ min: 0, max: 30, noNaN: true }), fc.integer({ min: 0, max: 10 }), (b, pair, extra, more) => {
        const s = scoreFinding(input(b, pair.kind, pair.vuln));
        const l = scoreFinding(input(b, pair.kind, pair.vuln, { secrecy: b.secrecy + extra, copies: b.copies + more }));
        expect(l.score).toBeGreaterThanOrEqual(s.score);
      }),
      { numRuns: 500 },
    );
  });

  it('an earlier CRQC never lowers a score', () => {
    fc.assert(
      fc.property(base, anyPair, fc.integer({ min: 2000, max: 2100 }), fc.integer({ min: 0, max: 40 }), (b, pair, early, gap) => {
        const sooner = scoreFinding(input(b, pair.kind, pair.vuln, { timeline: fixedYearTimeline(early) }));
        const later = scoreFinding(input(b, pair.kind, pair.vuln, { timeline: fixedYearTimeline(early + gap) }));
        expect(sooner.score).toBeGreaterThanOrEqual(later.score);
      }),
      { numRuns: 500 },
    );
  });

  it('the pessimistic reading never scores above the optimistic one', () => {
    const low = TIMELINES.find((t) => t.name === 'gri-2025-low')!;
    const high = TIMELINES.find((t) => t.name === 'gri-2025-high')!;
    fc.assert(
      fc.property(base, anyPair, (b, pair) => {
        expect(scoreFinding(input(b, pair.kind, pair.vuln, { timeline: low })).score).toBeLessThanOrEqual(
          scoreFinding(input(b, pair.kind, pair.vuln, { timeline: high })).score,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('a resistant or hybrid algorithm never scores above a vulnerable one on the same artifact', () => {
    fc.assert(
      fc.property(base, anyPair, (b, pair) => {
        const vuln = scoreFinding(input(b, pair.kind, pair.vuln));
        const safe = scoreFinding(input(b, pair.kind, pair.safe));
        expect(safe.score).toBeLessThanOrEqual(vuln.score);
      }),
      { numRuns: 1000 },
    );
  });

  it('scores stay within 0..100 with a severity that matches the band', () => {
    fc.assert(
      fc.property(base, anyPair, (b, pair) => {
        const x = scoreFinding(input(b, pair.kind, pair.vuln));
        expect(x.score).toBeGreaterThanOrEqual(0);
        expect(x.score).toBeLessThanOrEqual(100);
        expect(Number.isInteger(x.score)).toBe(true);
        const band = x.score >= 80 ? 'critical' : x.score >= 60 ? 'high' : x.score >= 40 ? 'medium' : x.score >= 1 ? 'low' : 'none';
        expect(x.severity).toBe(band);
        expect(x.explanation.length).toBeGreaterThan(20);
      }),
      { numRuns: 300 },
    );
  });
});
