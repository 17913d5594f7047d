/**
 * Every fixture states the outcome it expects (fixtures/<family>/expected.json, written by the generator next to the
 * files it makes). This test scans each fixture through the real pipeline and compares, so a detector change that
 * breaks any fixture fails here with the file named.
 *
 * expected.json: { "files": { "<relative path>": { "findings": [ { "kind", "format", "algorithm", "hash"?, "quantum"? } ],
 *   "errors"?: ["<error code>", …] } } }. Findings (over the file and all its members) must match exactly, as a
 *   multiset of the fields given; each listed error code must appear at least once. "findings": [] means none.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FIXTURES, findingsUnder, scanPaths } from './helpers/scan.js';

interface Expectation {
  findings?: { kind: string; format: string; algorithm: string; hash?: string; quantum?: string }[];
  errors?: string[];
}

const families = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(FIXTURES, d.name, 'expected.json')))
  .map((d) => d.name);

describe.each(families)('fixtures/%s', (family) => {
  const manifest = JSON.parse(readFileSync(join(FIXTURES, family, 'expected.json'), 'utf8')) as { files: Record<string, Expectation> };
  const entries = Object.entries(manifest.files);
  it('has fixtures listed', () => expect(entries.length).toBeGreaterThan(0));
  it.each(entries)('%s', async (file, expected) => {
    const path = join(FIXTURES, family, file);
    const result = await scanPaths(path);
    const { findings, errors } = findingsUnder(result, pathToFileURL(path).href);
    if (expected.findings) {
      // Greedy multiset match: each expectation consumes one finding that agrees on every field it names.
      const left = [...findings];
      const missing: string[] = [];
      for (const want of expected.findings) {
        const i = left.findIndex(
          (f) =>
            f.kind === want.kind &&
            f.format === want.format &&
            f.algorithm.id === want.algorithm &&
            (want.hash === undefined || f.algorithm.hash === want.hash) &&
            (want.quantum === undefined || f.quantum.status === want.quantum),
        );
        if (i < 0) missing.push(JSON.stringify(want));
        else left.splice(i, 1);
      }
      const extra = left.map((f) => `${f.kind} ${f.format} ${f.algorithm.id}${f.algorithm.hash ? `/${f.algorithm.hash}` : ''}`);
      expect({ missing, extra }, `${family}/${file}`).toEqual({ missing: [], extra: [] });
    }
    for (const code of expected.errors ?? []) {
      expect(
        errors.map((e) => e.code),
        `${family}/${file}: expected an error ${code}; got ${JSON.stringify(errors)}`,
      ).toContain(code);
    }
    if (!expected.errors?.length) {
      expect(errors, `${family}/${file}: unexpected errors`).toEqual([]);
    }
  });
});
