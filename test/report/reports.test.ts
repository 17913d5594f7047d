/**
 * Report formats: redacted golden files (test/report/golden/, update with `npx vitest run -u`), schema validation
 * (SARIF 2.1.0 from OASIS, CycloneDX 1.6 from @cyclonedx/cyclonedx-library), escaping, and a real scan rendered in
 * every format.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { REPORTERS } from '../../src/report/index.js';
import { csvCell } from '../../src/report/csv.js';
import { FIXTURES, scanPaths } from '../helpers/scan.js';
import { sampleResult } from './sample.js';
import { cdxValidator } from '../helpers/cyclonedx.js';

const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

function sarifValidator() {
  const ajv = new Ajv04.default({ allErrors: true, strict: false });
  addFormats.default(ajv);
  return ajv.compile(readJson(join(import.meta.dirname, '..', 'vendor', 'sarif', 'sarif-schema-2.1.0.json')));
}

const redact = (s: string) => s.replace(/urn:uuid:[0-9a-f-]{36}/g, 'urn:uuid:REDACTED').replace(/file:\/\/\/[^"]*?\/main\//g, 'file:///REPO/');

describe('reports on a fixed scan (golden files)', () => {
  const result = sampleResult();
  for (const [id, reporter] of Object.entries(REPORTERS)) {
    it(`${id} matches its golden file`, async () => {
      const out = redact(reporter.render(result, { cwd: '/srv', color: false }));
      await expect(out).toMatchFileSnapshot(join(import.meta.dirname, 'golden', `sample.${reporter.extension}`));
    });
  }
});

describe('SARIF 2.1.0', () => {
  it('validates against the OASIS schema and maps severity to level', () => {
    const log = JSON.parse(REPORTERS.sarif.render(sampleResult(), { cwd: '/srv' }));
    const validate = sarifValidator();
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const results = log.runs[0].results as {
      ruleId: string;
      level: string;
      locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region?: { byteOffset: number } } }[];
    }[];
    expect(results.find((r) => r.ruleId === 'shelflife/signature/vulnerable')?.level).toBe('error');
    expect(results.find((r) => r.ruleId === 'shelflife/private-key/vulnerable')?.level).toBe('warning');
    expect(results.find((r) => r.ruleId === 'shelflife/signature/hybrid')?.level).toBe('note');
    const loc = results[0].locations[0].physicalLocation;
    expect(loc.artifactLocation).toEqual({ uri: 'releases/fw/router-24.10.bin', uriBaseId: 'SRCROOT' });
    expect(loc.region).toEqual({ byteOffset: 40000 });
    const rules = log.runs[0].tool.driver.rules as { id: string; properties: Record<string, string> }[];
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    expect(rules.find((r) => r.id === 'shelflife/signature/vulnerable')?.properties['security-severity']).toBe('9.5');
    expect(log.runs[0].invocations[0].toolExecutionNotifications[0].descriptor.id).toBe('shelflife/error/limit-ratio');
  });

  it('rejects a broken log (the validator is live)', () => {
    expect(sarifValidator()({ version: '2.1.0', runs: [{ tool: {} }] })).toBe(false);
  });
});

describe('CycloneDX 1.6 CBOM', () => {
  it('validates against the official schema and links artifacts to crypto assets', () => {
    const bom = JSON.parse(REPORTERS.cbom.render(sampleResult(), {}));
    const validate = cdxValidator();
    expect(validate(bom), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    const comps = bom.components as {
      'bom-ref': string;
      type: string;
      cryptoProperties?: { assetType: string; algorithmProperties?: { nistQuantumSecurityLevel: number; primitive: string } };
    }[];
    const alg = (id: string) => comps.find((c) => c['bom-ref'] === `crypto/algorithm/${id}`)?.cryptoProperties?.algorithmProperties;
    expect(alg('RSA-2048')).toMatchObject({ primitive: 'signature', nistQuantumSecurityLevel: 0 });
    expect(alg('ML-DSA-65+ECDSA-P256')?.nistQuantumSecurityLevel).toBe(3);
    expect(alg('AES-256')).toMatchObject({ primitive: 'ae', nistQuantumSecurityLevel: 5 });
    expect(comps.filter((c) => c.cryptoProperties?.assetType === 'certificate')).toHaveLength(1);
    const fw = (bom.dependencies as { ref: string; dependsOn: string[] }[]).find((d) => d.ref.endsWith('router-24.10.bin'));
    expect(fw?.dependsOn).toContain('crypto/algorithm/RSA-2048');
    expect(fw?.dependsOn.some((r) => r.startsWith('crypto/certificate/'))).toBe(true);
    expect(comps.find((c) => c['bom-ref'].endsWith('router-24.10.bin'))?.type).toBe('firmware');
  });

  it('rejects a broken BOM (the validator is live)', () => {
    expect(cdxValidator()({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ type: 'nonsense' }] })).toBe(false);
  });
});

describe('escaping', () => {
  it('CSV neutralises formulas and quotes every cell', () => {
    expect(csvCell('=1+2')).toBe(`"'=1+2"`);
    expect(csvCell('@SUM(A1)')).toBe(`"'@SUM(A1)"`);
    expect(csvCell('-2')).toBe(`"'-2"`);
    expect(csvCell('a "quoted", value')).toBe('"a ""quoted"", value"');
    const csv = REPORTERS.csv.render(sampleResult(), {});
    expect(csv).not.toMatch(/(^|,)"[=+\-@]/m);
    expect(csv).toContain(`"'=cmd|"" /C calc""!A0 ECDSA-P256 private key."`);
  });

  it('Markdown escapes table-breaking characters and HTML escapes markup', () => {
    const md = REPORTERS.md.render(sampleResult(), { cwd: '/srv' });
    expect(md).not.toContain('Example|Corp');
    const html = REPORTERS.html.render(sampleResult(), {});
    expect(html).toContain('Vendor &quot;Firmware&quot; Signing');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/(src|href)="https?:/);
  });
});

describe('a real scan of the bundled fixtures renders in every format', () => {
  it.each(Object.keys(REPORTERS))('%s', async (id) => {
    const result = await scanPaths(join(FIXTURES, 'core'));
    const out = REPORTERS[id as keyof typeof REPORTERS].render(result, { cwd: process.cwd() });
    expect(out.length).toBeGreaterThan(100);
    if (id === 'sarif') expect(sarifValidator()(JSON.parse(out))).toBe(true);
    if (id === 'cbom') {
      const v = cdxValidator();
      expect(v(JSON.parse(out)), JSON.stringify(v.errors?.slice(0, 3))).toBe(true);
    }
  });
});
