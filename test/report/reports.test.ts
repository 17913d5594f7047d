/**
 * Report formats: redacted golden files (test/report/golden/, update with `npx vitest run -u`), and every format
 * validated against its own definition (test/helpers/report-formats.ts) on a fixed sample, a real scan of the bundled
 * fixtures and an empty scan; each validator shown to fail on a broken document.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ScanResult } from '../../src/model.js';
import { REPORTERS, type ReportFormat } from '../../src/report/index.js';
import { csvCell } from '../../src/report/csv.js';
import { scan } from '../../src/scan/scan.js';
import { validateCsv, validateHtml, validateMarkdown, validateReport, validateTable } from '../helpers/report-formats.js';
import { FIXTURES } from '../helpers/scan.js';
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

describe('every format validates against its own definition', () => {
  const formats = Object.keys(REPORTERS) as ReportFormat[];
  let real: ScanResult;
  beforeAll(async () => {
    // A real scan: certificates, keys, signatures, archives, bad files with errors, scored.
    real = await scan({ targets: [join(FIXTURES, 'core'), join(FIXTURES, 'pki')], concurrency: 2, now: () => new Date('2026-11-28T00:00:00Z') });
  });

  it.each(formats)('%s: the fixed sample', (id) => {
    const result = sampleResult();
    expect(validateReport(id, REPORTERS[id].render(result, { cwd: '/srv' }), result)).toEqual([]);
  });

  it.each(formats)('%s: a real scan of the bundled fixtures', (id) => {
    expect(real.artifacts.some((a) => a.errors.length)).toBe(true);
    expect(validateReport(id, REPORTERS[id].render(real, { cwd: process.cwd() }), real)).toEqual([]);
  });

  it.each(formats)('%s: an empty scan', (id) => {
    const empty: ScanResult = { ...sampleResult(), artifacts: [] };
    empty.scan.stats = { artifacts: 0, bytes: 0, findings: 0, errors: 0 };
    expect(validateReport(id, REPORTERS[id].render(empty, {}), empty)).toEqual([]);
  });
});

describe('the validators are live (each can fail)', () => {
  const result = sampleResult();
  const render = (id: ReportFormat) => REPORTERS[id].render(result, { cwd: '/srv' });

  it('JSON: a missing field or an unknown one', () => {
    const doc = JSON.parse(render('json'));
    delete doc.artifacts[0].sha256;
    expect(validateReport('json', JSON.stringify(doc), result).join()).toMatch(/sha256/);
    expect(validateReport('json', JSON.stringify({ ...JSON.parse(render('json')), extra: 1 }), result)).not.toEqual([]);
  });

  it('SARIF, CycloneDX and OCSF: a broken document', () => {
    expect(validateReport('sarif', JSON.stringify({ version: '2.1.0', runs: [{ tool: {} }] }), result)).not.toEqual([]);
    expect(validateReport('cbom', JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ type: 'nonsense' }] }), result)).not.toEqual([]);
    const lines = render('ocsf').split('\n');
    expect(validateReport('ocsf', `${lines.slice(1).join('\n')}`, result).join()).toMatch(/lines for \d+ events/);
    expect(validateReport('ocsf', render('ocsf').replace('"class_uid":2003', '"class_uid":2002'), result)).not.toEqual([]);
  });

  it('HTML: misnesting, a script, an external reference, an event handler, no CSP', () => {
    const html = render('html');
    expect(validateHtml(html.replace('</h1>', '</h2>'))).toContain('</h2> closes <h1>');
    expect(validateHtml(html.replace('</main>', '<script>alert(1)</script></main>')).join()).toMatch(/<script> element/);
    expect(validateHtml(html.replace('</main>', '<a href="https://evil.example/">x</a></main>')).join()).toMatch(/refers to another resource/);
    expect(validateHtml(html.replace('<main>', '<main onload="x()">')).join()).toMatch(/event handler/);
    expect(validateHtml(html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '')).join()).toMatch(/Content-Security-Policy/);
    expect(validateHtml(html.replace('<main>', '<main><div a="1"b="2"></div>')).join()).toMatch(/missing-whitespace-between-attributes/);
  });

  it('Markdown: a row with a cell too many, a link, raw HTML, an open code span', () => {
    const md = render('md');
    const row = md.split('\n').find((l) => l.startsWith('| critical | `'))!;
    expect(validateMarkdown(md.replace(row, `${row} extra |`)).join()).toMatch(/6 cells, the header has 5/);
    expect(validateMarkdown(md.replace(row, row.replace('signature |', '[x](http://e) |'))).join()).toMatch(/a link or image/);
    expect(validateMarkdown(md.replace(row, row.replace('signature |', '<img> |'))).join()).toMatch(/raw HTML/);
    expect(validateMarkdown(md.replace(row, row.replace('signature |', '`open |'))).join()).toMatch(/unclosed code span/);
  });

  it('CSV: an unquoted field, a missing column, a formula', () => {
    const csv = render('csv');
    expect(validateCsv(csv.replace('"artifact_uri"', 'artifact_uri'), result).join()).toMatch(/not quoted/);
    const rows = csv.split('\r\n');
    expect(validateCsv([rows[0], rows[1].replace(/,"[^"]*"$/, ''), ...rows.slice(2)].join('\r\n'), result).join()).toMatch(/17 fields/);
    expect(validateCsv(csv.replace(`"'=cmd`, '"=cmd'), result).join()).toMatch(/a formula/);
  });

  it('table: a missing summary, a control character', () => {
    const table = render('table');
    expect(validateTable(table.replace(/^\d+ artifacts, .*$/m, 'done'), result).join()).toMatch(/summary/);
    expect(validateTable(table.replace('signature', 'signature\x1b[31m'), result).join()).toMatch(/control/);
  });
});
