/**
 * The held-out recall harness (issue 15): the whole scanner, in one scan, over every vendored real-world file that an
 * independent parser here can read, against the expected findings those parsers give (fixtures/realworld-expected.json,
 * written by fixtures/gen/realworld-expected.py from gpg --list-packets, ssh-keygen, openssl and pyca/cryptography;
 * never from shelflife's output). An expected finding is found when a finding of its file has its kind, family and,
 * where the parsers know it, its exact algorithm (the parameter). Recall per corpus must reach 0.98, and no file may
 * yield a finding the parsers do not list (a false-positive file). The numbers are printed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding, ScanResult } from '../../src/model.js';
import { FIXTURES, findingsUnder, scanPaths } from '../helpers/scan.js';

interface Expected {
  kind: string;
  family?: string;
  algorithm?: string;
}
interface Manifest {
  corpora: Record<string, { tool: string; files: Record<string, Expected[]> }>;
  excluded: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(join(FIXTURES, 'realworld-expected.json'), 'utf8')) as Manifest;
const allFiles = Object.values(manifest.corpora).flatMap((c) => Object.keys(c.files));

/** Greedy multiset match: each expected finding takes one finding that agrees on every field it names. */
export function matchFindings(want: Expected[], found: Finding[]): { matched: number; missing: Expected[]; extra: Finding[] } {
  const left = [...found];
  const missing: Expected[] = [];
  // Exact expectations first, so a family-only one cannot take the finding an exact one needs.
  const ordered = [...want].sort((a, b) => Number(!a.algorithm) - Number(!b.algorithm));
  for (const w of ordered) {
    const i = left.findIndex(
      (f) => f.kind === w.kind && (w.family === undefined || f.algorithm.family === w.family) && (w.algorithm === undefined || f.algorithm.id === w.algorithm),
    );
    if (i < 0) missing.push(w);
    else left.splice(i, 1);
  }
  return { matched: want.length - missing.length, missing, extra: left };
}

let result: ScanResult;
beforeAll(async () => {
  result = await scanPaths(...allFiles.map((f) => join(FIXTURES, f)));
}, 120_000);

describe('held-out recall on real-world material (independent parsers)', () => {
  it('the harness itself fails a miss, a wrong parameter and an extra finding', () => {
    const f = (kind: Finding['kind'], id: string, family: string) =>
      ({ kind, format: 'x', algorithm: { id, family }, quantum: { status: 'vulnerable', classicalBits: null, nistLevel: null }, location: {} }) as Finding;
    const r = matchFindings(
      [
        { kind: 'signature', family: 'RSA', algorithm: 'RSA-4096' },
        { kind: 'public-key', family: 'EdDSA' },
      ],
      [f('signature', 'RSA', 'RSA'), f('public-key', 'Ed25519', 'EdDSA'), f('certificate', 'RSA-2048', 'RSA')],
    );
    expect(r.matched).toBe(1);
    expect(r.missing).toEqual([{ kind: 'signature', family: 'RSA', algorithm: 'RSA-4096' }]);
    expect(r.extra.map((x) => x.algorithm.id)).toEqual(['RSA', 'RSA-2048']);
  });

  it.each(Object.keys(manifest.corpora))('%s: recall ≥ 0.98 with the right parameter, and no false-positive file', (name) => {
    const corpus = manifest.corpora[name];
    let expected = 0;
    let matched = 0;
    const misses: string[] = [];
    const falsePositives: string[] = [];
    for (const [file, want] of Object.entries(corpus.files)) {
      const { findings } = findingsUnder(result, pathToFileURL(join(FIXTURES, file)).href);
      const r = matchFindings(want, findings);
      expected += want.length;
      matched += r.matched;
      for (const m of r.missing) misses.push(`${file}: missing ${m.kind} ${m.algorithm ?? m.family ?? ''}`);
      for (const x of r.extra) falsePositives.push(`${file}: not expected ${x.kind} ${x.format} ${x.algorithm.id}`);
    }
    const recall = expected ? matched / expected : 1;
    console.log(`recall ${name}: ${matched}/${expected} = ${recall.toFixed(3)} (${Object.keys(corpus.files).length} files; ${corpus.tool})`);
    // Each miss is named (the recall goal allows a few: a format shelflife does not decode, such as bzip2 OpenPGP).
    for (const m of misses) console.log(`  ${m}`);
    expect(falsePositives, name).toEqual([]);
    expect(recall, misses.join('\n')).toBeGreaterThanOrEqual(0.98);
  });
});
