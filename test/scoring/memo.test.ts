/**
 * The exposure memo of one scoring run (src/scoring/index.ts `ExposureMemo`): artifacts that share a scoring input are
 * scored once, and every artifact gets exactly what scoring it alone gives, as data of its own.
 */
import { describe, expect, it } from 'vitest';
import { ExposureMemo, prepareScoring, scoreArtifact, scoreScan } from '../../src/scoring/index.js';
import type { ArtifactResult } from '../../src/model.js';
import { artifact, finding, NOW, scanOf } from './helpers.js';

/** The same certificates, keys and encrypted data in many places, under names that give different classes. */
function manyCopies(): ArtifactResult[] {
  const out: ArtifactResult[] = [];
  const names = ['fw/a.bin', 'release/b.tar', 'keys/c.pem', 'backups/d.bak', 'e.crt', 'datasets/f.parquet'];
  for (let i = 0; i < 60; i++) {
    const name = names[i % names.length];
    out.push(
      artifact(
        `file:///t/${i}/${name}`,
        [
          finding('certificate', 'RSA-2048', { hash: 'SHA-1', notBefore: '2020-01-01T00:00:00Z', notAfter: `20${30 + (i % 3)}-01-01T00:00:00Z` }),
          finding('private-key', i % 2 ? 'ECDSA-P256' : 'Ed25519', { format: 'pkcs8' }),
          finding('encrypted-data', 'RSA-3072', { format: 'cms', created: i % 4 ? '2024-05-01T00:00:00Z' : undefined }),
          finding('public-key', 'RSA-2048', { details: { carved: true, layout: 'pkcs1' }, fingerprint: `fp${i % 2}`, location: { offset: i } }),
        ],
        { sha256: String(i % 7).repeat(64), modified: `2025-0${1 + (i % 9)}-01T00:00:00Z` },
      ),
    );
  }
  // A parser-found key confirms one carved fingerprint, not the other.
  out.push(artifact('file:///t/confirm.pem', [finding('public-key', 'RSA-2048', { format: 'pem', fingerprint: 'fp0' })]));
  return out;
}

describe('exposure memo', () => {
  it('gives every artifact what scoring it alone gives, as objects of its own', () => {
    const options = { now: NOW };
    const setup = prepareScoring(options);
    const memoized = scoreScan(scanOf(manyCopies()), options, setup).artifacts;
    // Alone: each finding scored without the memo, with the scan-wide facts the scan gives it (copies, confirmed keys).
    const alone = scanOf(manyCopies());
    const copies = new Map<string, number>();
    for (const a of alone.artifacts) copies.set(a.sha256!, (copies.get(a.sha256!) ?? 0) + 1);
    const confirmed = new Set(['fp0']);
    for (const a of alone.artifacts) scoreArtifact(a, undefined, setup, copies.get(a.sha256!), undefined, [], confirmed);
    expect(memoized.map((a) => a.findings.map((f) => f.exposure))).toEqual(alone.artifacts.map((a) => a.findings.map((f) => f.exposure)));
    expect(memoized.map((a) => a.exposure)).toEqual(alone.artifacts.map((a) => a.exposure));
    // The memo did share work: far fewer distinct exposures than findings, and yet no two findings hold the same object.
    const texts = new Set(memoized.flatMap((a) => a.findings.map((f) => JSON.stringify(f.exposure))));
    const all = memoized.flatMap((a) => a.findings.map((f) => f.exposure!));
    expect(texts.size).toBeLessThan(all.length / 2);
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(all.map((e) => e.inputs)).size).toBe(all.length);
    expect(new Set(all.map((e) => e.deadlinesMissed)).size).toBe(all.length);
  });

  it('keys on the whole finding and on each class input: a difference in any gives its own exposure', () => {
    const setup = prepareScoring({ now: NOW });
    const memo = new ExposureMemo();
    const base = finding('certificate', 'RSA-2048', { notBefore: '2020-01-01T00:00:00Z', notAfter: '2030-01-01T00:00:00Z' });
    const input = {
      finding: base,
      artifactClass: 'certificate',
      lifetime: 10,
      secrecy: 5,
      migration: 2,
      harvest: 0.1,
      copies: 1,
      created: 2020,
      now: setup.now,
      timeline: setup.timeline,
      policies: setup.policies,
    };
    const first = memo.score(input);
    expect(memo.score({ ...input })).toEqual(first);
    expect(memo.score({ ...input, finding: { ...base, notAfter: '2040-01-01T00:00:00Z' } }).score).not.toBe(first.score);
    expect(memo.score({ ...input, migration: 12 }).inputs.migrationYears).toBe(12);
    expect(memo.score({ ...input, artifactClass: 'firmware' }).inputs.class).toBe('firmware');
    expect(memo.score({ ...input, lead: true }).inputs.lead).toBe(true);
    // Another clock is another setup: nothing is carried over from the first.
    const later = prepareScoring({ now: new Date('2031-06-01T00:00:00Z') });
    expect(memo.score({ ...input, now: later.now, timeline: later.timeline, policies: later.policies }).inputs.now).toBe(2031.4137);
  });
});
