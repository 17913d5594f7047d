/**
 * The held-out recall harness's matcher (issue 15), shared by the file corpora (test/realworld/recall.test.ts) and the
 * served release stores (test/realworld/release-recall.test.ts). An expected finding comes from an independent parser
 * (fixtures/gen/realworld-expected.py), never from shelflife.
 */
import { spawnSync } from 'node:child_process';
import type { Finding } from '../../src/model.js';
import { needPrograms } from './prerequisites.js';

/**
 * Why the independent side cannot run here (fixtures/gen/realworld-expected.py needs python3 with pyca/cryptography,
 * Debian's python3-cryptography, and the programs named), or false.
 */
export function needIndependentParsers(check: string, ...programs: string[]): string | false {
  const missing = needPrograms(check, 'python3', ...programs);
  if (missing) return missing;
  const py = spawnSync('python3', ['-c', 'import cryptography'], { stdio: 'ignore' });
  return py.status === 0 ? false : `${check}: python3 cannot import cryptography (apt-get install python3-cryptography)`;
}

export interface Expected {
  kind: string;
  family?: string;
  algorithm?: string;
}

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

/** One corpus's tally: recall, the misses named, and the findings no parser lists (false positives). */
export class RecallTally {
  expected = 0;
  matched = 0;
  readonly misses: string[] = [];
  readonly falsePositives: string[] = [];

  add(file: string, want: Expected[], found: Finding[]): void {
    const r = matchFindings(want, found);
    this.expected += want.length;
    this.matched += r.matched;
    for (const m of r.missing) this.misses.push(`${file}: missing ${m.kind} ${m.algorithm ?? m.family ?? ''}`);
    for (const x of r.extra) this.falsePositives.push(`${file}: not expected ${x.kind} ${x.format} ${x.algorithm.id}`);
  }

  get recall(): number {
    return this.expected ? this.matched / this.expected : 1;
  }

  /** The line the harness prints per corpus, then each miss. */
  report(name: string, files: number, tool: string): string {
    return [`recall ${name}: ${this.matched}/${this.expected} = ${this.recall.toFixed(3)} (${files} files; ${tool})`, ...this.misses.map((m) => `  ${m}`)].join(
      '\n',
    );
  }
}
