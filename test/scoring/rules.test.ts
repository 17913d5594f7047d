/** The scoring rule files go through the one rules loader: unknown keys and bad values fail with file and line. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { renderError, ShelflifeError } from '../../src/errors.js';
import { bundledRulesDir, parseRules } from '../../src/rules/loader.js';
import { loadPolicy, parseDuration, scoringSchemas } from '../../src/scoring/rules.js';
import { bundledScoringRules, prepareScoring } from '../../src/scoring/index.js';

const { LifetimesSchema, PolicySchema, TimelinesSchema } = scoringSchemas();

const rulesText = (name: string) => readFileSync(join(bundledRulesDir(), name), 'utf8');

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ShelflifeError);
    return renderError(e as ShelflifeError);
  }
  throw new Error('expected a failure');
}

describe('bundled scoring rules', () => {
  it('load and name the classes, timelines and policies the docs promise', () => {
    const r = bundledScoringRules();
    expect(Object.keys(r.lifetimes.classes).sort()).toEqual(
      [
        'audit-record',
        'backup',
        'bootloader',
        'certificate',
        'checkpoint',
        'container-image',
        'database-snapshot',
        'dataset-snapshot',
        'embeddings',
        'firmware',
        'key-material',
        'model-weights',
        'os-image',
        'other',
        'software-release',
        'training-data',
      ].sort(),
    );
    expect(Object.keys(r.timelines.timelines)).toEqual(expect.arrayContaining(['gri-2024-low', 'gri-2024-high', 'gri-2025-low', 'gri-2025-high', 'crqc-2030']));
    expect([...r.policies.keys()].sort()).toEqual(['classical-weakness', 'cnsa-2.0', 'nist-ir-8547']);
    expect(r.lifetimes.classes.firmware.lifetime).toBe(15);
  });
});

describe('durations', () => {
  it('parses years, months and days and rejects the rest', () => {
    expect(parseDuration('15y')).toBe(15);
    expect(parseDuration('18m')).toBe(1.5);
    expect(parseDuration('365.25d')).toBe(1);
    for (const bad of ['15', 'y', '-1y', '15x', '1e3y', '999y', '']) expect(parseDuration(bad)).toBeUndefined();
  });
});

describe('lifetimes.yaml errors', () => {
  const text = rulesText('lifetimes.yaml');
  it('an unknown key names the file and its line', () => {
    const bad = text.replace('    lifetime: 15y\n', '    lifetime: 15y\n    lifespan: 20y\n');
    const line = bad.split('\n').findIndex((l) => l.includes('lifespan')) + 1;
    expect(failure(() => parseRules(bad, 'lifetimes.yaml', LifetimesSchema))).toMatch(new RegExp(`^lifetimes\\.yaml:${line}: unknown key "lifespan"`));
  });
  it('a bad duration names the line', () => {
    const bad = text.replace('    lifetime: 15y\n', '    lifetime: fifteen\n');
    const line = bad.split('\n').findIndex((l) => l.includes('fifteen')) + 1;
    expect(failure(() => parseRules(bad, 'lifetimes.yaml', LifetimesSchema))).toMatch(new RegExp(`^lifetimes\\.yaml:${line}: bad duration "fifteen"`));
  });
  it('a rule naming an unknown class names the line', () => {
    const bad = text.replace('  - class: bootloader\n', '  - class: bootlader\n');
    const line = bad.split('\n').findIndex((l) => l.includes('bootlader')) + 1;
    expect(failure(() => parseRules(bad, 'lifetimes.yaml', LifetimesSchema))).toMatch(new RegExp(`^lifetimes\\.yaml:${line}: unknown class "bootlader"`));
  });
  it('a harvest chance above 1 is rejected', () => {
    const bad = text.replace('    harvest: 0.9\n', '    harvest: 9\n');
    const line = bad.split('\n').findIndex((l) => l.includes('harvest: 9')) + 1;
    expect(failure(() => parseRules(bad, 'lifetimes.yaml', LifetimesSchema))).toMatch(new RegExp(`^lifetimes\\.yaml:${line}: `));
  });
});

describe('timelines.yaml errors', () => {
  const text = rulesText('timelines.yaml');
  it('a falling cumulative probability names its line', () => {
    const bad = text.replace('      - { year: 2036, p: 0.49 }', '      - { year: 2036, p: 0.09 }');
    const line = bad.split('\n').findIndex((l) => l.includes('p: 0.09')) + 1;
    expect(failure(() => parseRules(bad, 'timelines.yaml', TimelinesSchema))).toMatch(
      new RegExp(`^timelines\\.yaml:${line}: a cumulative probability cannot fall`),
    );
  });
  it('a probability above 1, an unknown key and a timeline with both shapes are rejected', () => {
    expect(failure(() => parseRules(text.replace('p: 0.93', 'p: 1.93'), 'timelines.yaml', TimelinesSchema))).toMatch(/^timelines\.yaml:\d+: /);
    const unknownKey = text.replace('    crqcYear: 2030\n', '    crqcYear: 2030\n    confidence: high\n');
    const line = unknownKey.split('\n').findIndex((l) => l.includes('confidence')) + 1;
    expect(failure(() => parseRules(unknownKey, 'timelines.yaml', TimelinesSchema))).toMatch(new RegExp(`^timelines\\.yaml:${line}: unknown key "confidence"`));
    const both = text.replace('    crqcYear: 2030\n', '    crqcYear: 2030\n    curve: [{ year: 2030, p: 1 }]\n');
    expect(failure(() => parseRules(both, 'timelines.yaml', TimelinesSchema))).toMatch(/exactly one of curve or crqcYear/);
  });
});

describe('policy files', () => {
  const text = rulesText('policies/nist-ir-8547.yaml');
  it('an unknown match key names its line', () => {
    const bad = text.replace('match: { status: [vulnerable] }', 'match: { status: [vulnerable], family: [RSA] }');
    const line = bad.split('\n').findIndex((l) => l.includes('family: [RSA]')) + 1;
    expect(failure(() => parseRules(bad, 'nist-ir-8547.yaml', PolicySchema))).toMatch(new RegExp(`^nist-ir-8547\\.yaml:${line}: unknown key "family"`));
  });
  it('a bad action names its line', () => {
    const bad = text.replace('action: disallowed', 'action: forbidden');
    const line = bad.split('\n').findIndex((l) => l.includes('forbidden')) + 1;
    expect(failure(() => parseRules(bad, 'nist-ir-8547.yaml', PolicySchema))).toMatch(new RegExp(`^nist-ir-8547\\.yaml:${line}: `));
  });
  it('a policy whose name differs from its file name is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-policy-'));
    const file = join(dir, 'mine.yaml');
    writeFileSync(file, text);
    expect(failure(() => loadPolicy(file))).toMatch(/mine\.yaml:1: policy name "nist-ir-8547" does not match/);
  });
});

describe('shelflife.config.yaml', () => {
  it('the example at the repo root loads and its names resolve', () => {
    const text = readFileSync(join(bundledRulesDir(), '..', 'shelflife.config.yaml'), 'utf8');
    const config = parseConfig(text, 'shelflife.config.yaml', '/repo');
    const setup = prepareScoring({ config, now: new Date('2026-01-01T00:00:00Z') });
    expect(setup.timeline.name).toBe(config.timeline ?? 'gri-2025-high');
    expect(config.targets.length).toBeGreaterThan(0);
  });
  it('unknown keys and bad values name the line', () => {
    expect(failure(() => parseConfig('version: 1\ntargets:\n  - match: fw/**\n    lifetme: 20y\n'))).toMatch(
      /^shelflife\.config\.yaml:4: unknown key "lifetme"/,
    );
    expect(failure(() => parseConfig('version: 1\nfailOn: urgent\n'))).toMatch(/^shelflife\.config\.yaml:2: /);
    expect(failure(() => parseConfig('version: 1\ntargets:\n  - match: fw/**\n    lifetime: 20 years\n'))).toMatch(/^shelflife\.config\.yaml:4: bad duration/);
  });
  it('a config naming an unknown class, timeline or policy is a usage error', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(failure(() => prepareScoring({ now, config: parseConfig('version: 1\ntargets:\n  - { match: "x/**", class: firmwear }\n') }))).toMatch(
      /targets\[0\]\.class: unknown class "firmwear"/,
    );
    expect(failure(() => prepareScoring({ now, config: parseConfig('version: 1\ntimeline: gri-2099\n') }))).toMatch(/unknown timeline "gri-2099"/);
    expect(failure(() => prepareScoring({ now, policies: ['pci'] }))).toMatch(/unknown policy "pci"/);
  });
  it('user timelines from the config can be selected', () => {
    const config = parseConfig(
      'version: 1\ntimeline: ours\ntimelines:\n  ours:\n    title: our red team\n    curve: [{ year: 2026, p: 0 }, { year: 2030, p: 1 }]\n',
    );
    const setup = prepareScoring({ config, now: new Date('2026-01-01T00:00:00Z') });
    expect(setup.timeline.name).toBe('ours');
    expect(setup.timeline.probabilityBy(2028)).toBe(0.5);
  });
});
