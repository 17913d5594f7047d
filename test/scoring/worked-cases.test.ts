/**
 * Worked cases computed by hand (docs/scoring.md §Worked cases shows the arithmetic); the code must reproduce them
 * exactly: probability to 4 decimals, the integer score, the severity and every missed deadline.
 * Timeline points used (rules/timelines.yaml): gri-2025-high 2026:0 2031:.15 2036:.49 2041:.70 2046:.86 2056:.93;
 * gri-2025-low 2026:0 2031:.05 2036:.28 2041:.51 2046:.69 2056:.81. now = 2026-01-01 = 2026.0 throughout.
 */
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/model.js';
import { scoreScan } from '../../src/scoring/index.js';
import { artifact, finding, NOW, scanOf } from './helpers.js';

interface Case {
  name: string;
  uri: string;
  finding: Finding;
  extra?: Parameters<typeof artifact>[2];
  options?: { timeline?: string; crqcYear?: number; policies?: string[] };
  copies?: number;
  expect: {
    class: string;
    lifetime?: { years: number; source: string };
    probability: number;
    score: number;
    severity: string;
    deadlines: string[];
    sentence?: RegExp;
  };
}

const IR = 'NIST IR 8547';
const CASES: Case[] = [
  {
    // end 2026+15 = 2041; horizon 2041+3 = 2044; P = .70 + (.86-.70)·3/5 = .796 → 79.6 → 80.
    name: 'RSA-2048 Authenticode signature on firmware, 15 y + 3 y migration, gri-2025-high',
    uri: 'file:///srv/firmware/board.cap',
    finding: finding('signature', 'RSA-2048', { format: 'authenticode', hash: 'SHA-256' }),
    extra: { modified: '2026-01-01T00:00:00Z' },
    expect: {
      class: 'firmware',
      lifetime: { years: 15, source: 'rule:firmware' },
      probability: 0.796,
      score: 80,
      severity: 'critical',
      deadlines: [`${IR}: deprecates RSA-2048 after 2030`, `${IR}: disallows RSA-2048 after 2035`],
      sentence:
        /^RSA-2048 Authenticode signature on firmware expected in service until 2041; 80% chance a CRQC exists before 2044 \(3 years to migrate, gri-2025-high\); NIST IR 8547 disallows RSA-2048 after 2035 \(\+1 more\)\. Re-sign with ML-DSA-65\+ECDSA-P256 now\.$/,
    },
  },
  {
    // Same, pessimistic reading: .51 + (.69-.51)·3/5 = .618 → 62.
    name: 'same firmware on gri-2025-low',
    uri: 'file:///srv/firmware/board.cap',
    finding: finding('signature', 'RSA-2048', { format: 'authenticode', hash: 'SHA-256' }),
    extra: { modified: '2026-01-01T00:00:00Z' },
    options: { timeline: 'gri-2025-low' },
    expect: {
      class: 'firmware',
      probability: 0.618,
      score: 62,
      severity: 'high',
      deadlines: [`${IR}: deprecates RSA-2048 after 2030`, `${IR}: disallows RSA-2048 after 2035`],
    },
  },
  {
    // Horizon 2044 < CRQC 2045: P = 0; the IR 8547 disallowance (60) sets the score.
    name: 'same firmware, --crqc-year 2045',
    uri: 'file:///srv/firmware/board.cap',
    finding: finding('signature', 'RSA-2048', { format: 'authenticode', hash: 'SHA-256' }),
    extra: { modified: '2026-01-01T00:00:00Z' },
    options: { crqcYear: 2045 },
    expect: {
      class: 'firmware',
      probability: 0,
      score: 60,
      severity: 'high',
      deadlines: [`${IR}: deprecates RSA-2048 after 2030`, `${IR}: disallows RSA-2048 after 2035`],
    },
  },
  {
    // Horizon 2044 ≥ CRQC 2044: P = 1.
    name: 'same firmware, --crqc-year 2044',
    uri: 'file:///srv/firmware/board.cap',
    finding: finding('signature', 'RSA-2048', { format: 'authenticode', hash: 'SHA-256' }),
    extra: { modified: '2026-01-01T00:00:00Z' },
    options: { crqcYear: 2044 },
    expect: {
      class: 'firmware',
      probability: 1,
      score: 100,
      severity: 'critical',
      deadlines: [`${IR}: deprecates RSA-2048 after 2030`, `${IR}: disallows RSA-2048 after 2035`],
    },
  },
  {
    // Created 2024 (mtime), 7 y → 2031; 5 y left + 1 → 2032; P = .15 + .34·1/5 = .218; P-256 is 128-bit: no deadline before 2031.
    name: 'ECDSA-P256 signature on a software release',
    uri: 'file:///releases/app-1.0.tar.gz',
    finding: finding('signature', 'ECDSA-P256', { format: 'cms', hash: 'SHA-256' }),
    extra: { modified: '2024-01-01T00:00:00Z' },
    expect: { class: 'software-release', probability: 0.218, score: 22, severity: 'low', deadlines: [] },
  },
  {
    // Certificate file: created = notBefore 2025; class 10 y would run to 2035 but notAfter 2027 comes first.
    // Finding: end 2027, 1 y left + 2 → 2029; P = .15·3/5 = .09.
    name: 'RSA-3072 certificate ending at its notAfter',
    uri: 'file:///etc/pki/server.crt',
    finding: finding('certificate', 'RSA-3072', { hash: 'SHA-256', notBefore: '2025-01-01T00:00:00Z', notAfter: '2027-01-01T00:00:00Z' }),
    expect: { class: 'certificate', lifetime: { years: 2, source: 'certificate:notAfter' }, probability: 0.09, score: 9, severity: 'low', deadlines: [] },
  },
  {
    // HNDL: created 2026, secret 25 y → 2051: P(CRQC) = .86 + .07·5/10 = .895; harvest 1 − .5¹ = .5 → .4475;
    // IR 8547 disallowance (60) dominates.
    name: 'RSA-2048 key transport protecting a database snapshot, 1 copy',
    uri: 'file:///backups-db/customers.sql.gz',
    finding: finding('encrypted-data', 'RSA-2048', { format: 'cms' }),
    extra: { modified: '2026-01-01T00:00:00Z' },
    expect: {
      class: 'database-snapshot',
      probability: 0.4475,
      score: 60,
      severity: 'high',
      deadlines: [`${IR}: deprecates RSA-2048 after 2030`, `${IR}: disallows RSA-2048 after 2035`],
    },
  },
  {
    // Same with 4 known copies: harvest 1 − .5⁴ = .9375 → .895 × .9375 = .8390625 → 84.
    name: 'the same snapshot with 4 known copies',
    uri: 'file:///backups-db/customers.sql.gz',
    finding: finding('encrypted-data', 'RSA-2048', { format: 'cms' }),
    extra: { modified: '2026-01-01T00:00:00Z', annotations: { 'shelflife.copies': '4' } },
    expect: {
      class: 'database-snapshot',
      probability: 0.8391,
      score: 84,
      severity: 'critical',
      deadlines: [`${IR}: deprecates RSA-2048 after 2030`, `${IR}: disallows RSA-2048 after 2035`],
      sentence:
        /must stay secret until 2051; 90% chance a CRQC exists by then \(gri-2025-high\) and 94% that one of 4 known copies was harvested.*migration cannot undo a copy already harvested\.$/,
    },
  },
  {
    name: 'hybrid ML-DSA-65+ECDSA-P256 signature on the same firmware',
    uri: 'file:///srv/firmware/board.cap',
    finding: finding('signature', 'ML-DSA-65+ECDSA-P256', { format: 'cms' }),
    extra: { modified: '2026-01-01T00:00:00Z' },
    expect: { class: 'firmware', probability: 0.796, score: 0, severity: 'none', deadlines: [] },
  },
  {
    // CNSA 2.0: software/firmware signing must prefer CNSA after 2025 and use it exclusively after 2030.
    name: 'ML-DSA-65 firmware signature under --policy cnsa-2.0',
    uri: 'file:///srv/firmware/board.cap',
    finding: finding('signature', 'ML-DSA-65', { format: 'cms' }),
    extra: { modified: '2026-01-01T00:00:00Z' },
    options: { policies: ['cnsa-2.0'] },
    expect: {
      class: 'firmware',
      probability: 0.796,
      score: 60,
      severity: 'high',
      deadlines: [
        'CNSA 2.0: requires software and firmware signing to prefer ML-DSA-87, LMS or XMSS over ML-DSA-65 after 2025',
        'CNSA 2.0: allows only ML-DSA-87, LMS or XMSS for software and firmware signing after 2030, not ML-DSA-65',
      ],
    },
  },
  {
    name: 'ML-DSA-87 firmware signature under --policy cnsa-2.0',
    uri: 'file:///srv/firmware/board.cap',
    finding: finding('signature', 'ML-DSA-87', { format: 'cms' }),
    extra: { modified: '2026-01-01T00:00:00Z' },
    options: { policies: ['cnsa-2.0'] },
    expect: { class: 'firmware', probability: 0.796, score: 0, severity: 'none', deadlines: [] },
  },
  {
    // notBefore 2020, class 10 y → 2030 (notAfter 2030 is not earlier); 4 y left + 2 → 2032: P = .218.
    // Ends before 2031, so IR 8547 is not missed; both classical rules are (85).
    name: 'RSA-1024 / SHA-1 certificate: classical weakness regardless of quantum',
    uri: 'file:///etc/pki/old.pem',
    finding: finding('certificate', 'RSA-1024', { hash: 'SHA-1', notBefore: '2020-01-01T00:00:00Z', notAfter: '2030-01-01T00:00:00Z' }),
    expect: {
      class: 'certificate',
      lifetime: { years: 10, source: 'rule:certificate' },
      probability: 0.218,
      score: 85,
      severity: 'critical',
      deadlines: [
        'Classical weakness: RSA-1024 gives less than 112-bit security today (SP 800-57 / SP 800-131A)',
        'Classical weakness: RSA-1024 signature over SHA-1, a collision-broken hash, is forgeable today (chosen-prefix collisions)',
      ],
    },
  },
  {
    // Created 2020, secret 25 y → 2045: P(CRQC) = .70 + .16·4/5 = .828; harvest .5 → .414. 3DES is Grover-weakened
    // only (weight 0) but a retired 64-bit-block cipher (60).
    name: '3DES-encrypted backup',
    uri: 'file:///mnt/backups/2020.bak',
    finding: finding('encrypted-data', '3DES', { format: 'pkcs8' }),
    extra: { modified: '2020-01-01T00:00:00Z' },
    expect: {
      class: 'backup',
      probability: 0.414,
      score: 60,
      severity: 'high',
      deadlines: ['Classical weakness: 3DES is a retired cipher (64-bit block or broken keystream; SP 800-131A)'],
    },
  },
  {
    // Created 2010, 15 y → retired 2025; 0 y left + 3 → 2029: P = .09; retired before any deadline.
    name: 'retired firmware',
    uri: 'file:///srv/firmware/legacy.rom',
    finding: finding('signature', 'RSA-2048', { format: 'cms', hash: 'SHA-256' }),
    extra: { modified: '2010-01-01T00:00:00Z' },
    expect: {
      class: 'firmware',
      probability: 0.09,
      score: 9,
      severity: 'low',
      deadlines: [],
      sentence: /retired since 2025; 9% chance a CRQC exists before 2029/,
    },
  },
];

describe('worked cases', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const a = artifact(c.uri, [structuredClone(c.finding)], c.extra);
      scoreScan(scanOf([a]), { now: NOW, ...c.options });
      const x = a.findings[0].exposure!;
      expect(a.class).toBe(c.expect.class);
      if (c.expect.lifetime) expect(a.lifetime).toEqual(c.expect.lifetime);
      expect((x.inputs as { probability: number }).probability).toBe(c.expect.probability);
      expect(x.score).toBe(c.expect.score);
      expect(x.severity).toBe(c.expect.severity);
      expect(x.deadlinesMissed).toEqual(c.expect.deadlines);
      if (c.expect.sentence) expect(x.explanation).toMatch(c.expect.sentence);
      // The artifact takes its (only) finding's exposure.
      expect(a.exposure?.score).toBe(c.expect.score);
    });
  }
});
