/**
 * The compiled rules module (tools/build.mjs → dist/rules.compiled.json): the build validates every bundled rules file
 * with the runtime's own loaders, and a build uses an entry only while the YAML it came from is unchanged.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/index.js';
import { COMPILED_RULES_FILE, type CompiledRules } from '../../src/rules/loader.js';
import { bundledRulesDir } from '../../src/rules/loader.js';
import { loadLifetimes, loadPolicy, loadTimelines } from '../../src/scoring/rules.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIST = join(ROOT, 'dist');
const compiled = () => JSON.parse(readFileSync(join(DIST, COMPILED_RULES_FILE), 'utf8')) as CompiledRules;

function rulesFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? rulesFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('compiled rules (dist/rules.compiled.json, written by the test setup’s build)', () => {
  it('holds every bundled rules file, with its digest and the data the YAML loaders give', () => {
    const c = compiled();
    const rules = bundledRulesDir();
    const files = rulesFiles(rules).map((f) => relative(rules, f));
    expect(Object.keys(c.files).sort()).toEqual(files.sort());
    for (const rel of files) {
      const file = join(rules, rel);
      const entry = c.files[rel];
      expect(entry.sha256, rel).toBe(createHash('sha256').update(readFileSync(file, 'utf8')).digest('hex'));
      const fromYaml =
        rel === 'algorithms.yaml'
          ? loadCatalogue(file).data
          : rel === 'lifetimes.yaml'
            ? loadLifetimes(file)
            : rel === 'timelines.yaml'
              ? loadTimelines(file)
              : loadPolicy(file);
      expect(entry.data, rel).toEqual(fromYaml);
    }
  });

  describe('a build', () => {
    // A copy of the built library beside a copy of rules/, as an installed package has them.
    const root = mkdtempSync(join(tmpdir(), 'shelflife-compiled-'));
    cpSync(join(DIST, 'src'), join(root, 'dist', 'src'), { recursive: true });
    cpSync(join(ROOT, 'rules'), join(root, 'rules'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const load = async () =>
      (await import(pathToFileURL(join(root, 'dist', 'src', 'scoring', 'rules.js')).href)) as typeof import('../../src/scoring/rules.js');

    it('takes an entry whose file is unchanged, and parses the YAML of a file edited since the build', async () => {
      const c = compiled();
      // Mark the compiled timelines (digest kept) so that where the data came from shows.
      const timelines = c.files['timelines.yaml'].data as { default: string; timelines: Record<string, { title: string }> };
      timelines.timelines[timelines.default].title = 'from the compiled module';
      writeFileSync(join(root, 'dist', COMPILED_RULES_FILE), JSON.stringify(c));
      // Edit lifetimes.yaml after the build: its digest no longer matches.
      const lifetimesYaml = join(root, 'rules', 'lifetimes.yaml');
      const text = readFileSync(lifetimesYaml, 'utf8');
      const edited = text.replace(/^defaultClass: .*$/m, 'defaultClass: firmware');
      expect(edited).not.toBe(text);
      writeFileSync(lifetimesYaml, edited);

      const m = await load();
      const t = m.loadTimelines();
      expect(t.timelines[t.default].title).toBe('from the compiled module');
      expect(m.loadLifetimes().defaultClass).toBe('firmware');
    });
  });
});
