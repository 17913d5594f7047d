/**
 * Output that a terminal, a wiki or a SIEM reads (issue 14 item 11): names from hostile artifacts hold a bare `%`,
 * ESC sequences, CR/LF, NUL, bidi overrides, Markdown links, images and @mentions. No format crashes on them; every
 * human format shows control and bidi characters as escapes and escapes its own markup; CEF and syslog carry no raw
 * control character; JSON formats stay lossless.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScanResult } from '../../src/model.js';
import { toCef } from '../../src/report/cef.js';
import { parseCef } from '../helpers/cef.js';
import { eventsOfScan } from '../../src/report/event.js';
import { REPORTERS, type ReportFormat } from '../../src/report/index.js';
import { displayText, displayUri, safeJson } from '../../src/report/text.js';
import { toSyslog } from '../../src/sinks/syslog.js';
import { tar } from '../helpers/registry.js';
import { validateReport } from '../helpers/report-formats.js';
import { FIXTURES } from '../helpers/scan.js';
import { sampleResult } from './sample.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'shelflife.js');

/** Characters that must never reach a human format raw (line breaks are checked per format). */
const ACTING = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;

const NAMES = {
  percent: '100%zz%.pem',
  ansi: 'a\x1b[31mRED\x1b[0m\x1b]8;;http://evil\x07link\x1b]8;;\x07.pem',
  crlf: 'x.pem\r\nerror [malformed]: everything is fine',
  nul: 'nul\x00byte.pem',
  bidi: 'invoice\u202Efdp.exe',
  markdown: '[click](http://evil.example) ![img](http://evil.example/i.png) @admin <b>x</b> www.evil.example.pem',
};

/** The sample scan with one hostile member per name, each carrying a certificate finding whose subject is the name too. */
function hostileResult(): ScanResult {
  const r = sampleResult();
  const base = r.artifacts[0];
  for (const name of Object.values(NAMES)) {
    r.artifacts.push({
      ...base,
      uri: `file:///srv/releases/bundle.tar!/${name}`,
      parent: 'file:///srv/releases/bundle.tar',
      sha256: createHash('sha256').update(name).digest('hex'),
      findings: base.findings.map((f) => ({ ...f, subject: `CN=${name}`, exposure: { ...f.exposure!, explanation: `signed by ${name}` } })),
      errors: [{ code: 'malformed', message: `bundle.tar!/${name}: not a certificate` }],
    });
  }
  r.scan.targets.push(`/srv/${NAMES.ansi}`);
  return r;
}

describe('displayText', () => {
  it('shows controls, bidi and invisible characters as escapes, and is idempotent', () => {
    expect(displayText('a\x1b[31m\r\n\t\x00\x7f\u0085\u202e\u2066\u200b\ufeff\u{e0041}b')).toBe(
      'a\\x1B[31m\\r\\n\\t\\x00\\x7F\\u0085\\u202E\\u2066\\u200B\\uFEFF\\u{E0041}b',
    );
    const once = displayText(Object.values(NAMES).join(''));
    expect(once).not.toMatch(ACTING);
    expect(displayText(once)).toBe(once);
    expect(displayText('Grüße, 日本, ✓')).toBe('Grüße, 日本, ✓');
  });

  it('displayUri never throws on a malformed percent-escape and decodes the valid ones', () => {
    expect(displayUri(`file:///srv/a.tar!/${NAMES.percent}`, '/srv')).toBe('a.tar!/100%zz%.pem');
    expect(displayUri('file:///srv/a.tar!/%2E%2E/caf%C3%A9%ZZ', '/srv')).toBe('a.tar!/../café%ZZ');
    expect(displayUri('file:///srv/100%zz')).toBe('file:///srv/100%zz');
    expect(displayUri(`oci://r.example/a@sha256:1!/${NAMES.bidi}`)).toBe('oci://r.example/a@sha256:1!/invoice\\u202Efdp.exe');
  });

  it('safeJson is lossless and carries no raw acting character', () => {
    const v = { names: Object.values(NAMES), c1: '\u009b31m', sep: '\u2028\u2029' };
    const text = safeJson(v, 2);
    expect(text).not.toMatch(ACTING);
    expect(JSON.parse(text)).toEqual(v);
  });
});

describe('every format on hostile names', () => {
  const result = hostileResult();
  const render = (id: keyof typeof REPORTERS) => REPORTERS[id].render(result, { cwd: '/srv', color: false });

  it.each(Object.keys(REPORTERS))('%s renders without throwing and with no raw control or bidi character', (id) => {
    let out = render(id as keyof typeof REPORTERS);
    if (id === 'md') {
      // The one invisible character Markdown prose gets on purpose: a zero-width space that breaks @mentions and
      // autolinks, only ever right after `@`, inside `://` or after `www`.
      expect(out.replace(/(@|:|www)\u200b/g, '')).not.toContain('\u200b');
      out = out.replace(/\u200b/g, '');
    }
    const lines = id === 'csv' ? out.split('\r\n') : out.split('\n');
    for (const line of lines) expect(line, `${id}: ${JSON.stringify(line)}`).not.toMatch(ACTING);
  });

  it.each(Object.keys(REPORTERS))('%s still validates against its format definition', (id) => {
    expect(validateReport(id as ReportFormat, render(id as ReportFormat), result)).toEqual([]);
  });

  it('table: a name cannot fake a line, recolour the terminal or reorder text', () => {
    const out = render('table');
    expect(out).not.toMatch(/^error \[malformed\]: everything is fine/m);
    expect(out).toContain('x.pem\\r\\nerror [malformed]: everything is fine');
    expect(out).toContain('a\\x1B[31mRED');
    expect(out).toContain('invoice\\u202Efdp.exe');
  });

  it('Markdown: names are code spans, so no link, image, HTML or @mention comes from them', () => {
    const md = render('md');
    const outsideCode = md.replace(/`[^`\n]*`/g, '');
    expect(outsideCode).not.toMatch(/(^|[^\\])\[click\]\(/);
    expect(outsideCode).not.toMatch(/(^|[^\\])!\[img\]/);
    expect(outsideCode).not.toContain('<b>');
    expect(outsideCode).not.toMatch(/@admin|https?:\/\//);
    expect(md).toContain('`releases/bundle.tar!/[click](http://evil.example) ![img](http://evil.example/i.png) @admin <b>x</b> www.evil.example.pem`');
    // In prose (the explanation) markup is escaped and mentions and autolinks are broken.
    expect(md).toContain('signed by \\[click\\](http:\u200b//evil.example) !\\[img\\]');
    expect(md).toContain('@\u200badmin \\<b\\>x\\</b\\> www\u200b.evil.example.pem');
    // A table row stays one row: the pipes and line breaks of a name are escaped.
    for (const line of md.split('\n').filter((l) => l.startsWith('| '))) expect(line.split(/(?<!\\)\|/).length).toBeLessThanOrEqual(7);
  });

  it('HTML: markup escaped, bidi shown', () => {
    const html = render('html');
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).toContain('invoice\\u202Efdp.exe');
  });

  it('CSV: one record per line, formulas still neutralised', () => {
    const rows = render('csv').trimEnd().split('\r\n');
    expect(rows).toHaveLength(1 + result.artifacts.reduce((n, a) => n + (a.findings.length || (a.retired ? 1 : 0)), 0));
    expect(rows.join('\n')).toContain('x.pem\\r\\nerror');
    expect(render('csv')).not.toMatch(/(^|,)"[=+\-@]/m);
  });

  it('JSON, SARIF, CycloneDX and OCSF keep the names exactly', () => {
    expect((JSON.parse(render('json')) as ScanResult).artifacts.map((a) => a.uri)).toEqual(result.artifacts.map((a) => a.uri));
    expect(render('sarif')).toContain('invoice\\u202efdp.exe');
    expect(JSON.parse(render('cbom')).components.some((c: { name?: string }) => c.name?.includes('\u202e'))).toBe(true);
    const ocsf = render('ocsf')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { resource: { name: string } });
    expect(ocsf.some((o) => o.resource.name.endsWith(NAMES.nul))).toBe(true);
  });

  it('CEF: no NUL, ESC or bidi in the line; the receiver reads them as visible escapes', () => {
    for (const e of eventsOfScan(result)) {
      const line = toCef(e);
      expect(line).not.toMatch(ACTING);
      expect(line).not.toMatch(/[\r\n]/);
      // Parsed back, only CR/LF (which CEF escapes as \r, \n) can be real line breaks; nothing else acts.
      const { header, extension } = parseCef(line);
      expect([...header, ...Object.values(extension)].join(' ').replace(/[\r\n]/g, '')).not.toMatch(ACTING);
    }
    const nul = [...eventsOfScan(result)].find((e) => e.artifact.uri.endsWith(NAMES.nul))!;
    expect(parseCef(toCef(nul)).extension.filePath).toBe('file:///srv/releases/bundle.tar!/nul\\x00byte.pem');
  });

  it('syslog: the JSON and OCSF bodies escape every control, C1 and bidi character', () => {
    for (const e of eventsOfScan(result)) {
      for (const format of ['json', 'ocsf', 'cef'] as const) expect(toSyslog(e, format)).not.toMatch(ACTING);
    }
  });
});

describe('the CLI on a hostile archive (real binary)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-hostile-names-'));
  const root = join(dir, 'store-a\x1b[31mRED\x1b[0m');
  mkdirSync(root);
  const der = readFileSync(join(FIXTURES, 'pki', 'certs', 'rsa2048.der'));
  const pem = `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END CERTIFICATE-----\n`;
  writeFileSync(join(root, 'bundle.tar'), tar(Object.fromEntries(Object.values(NAMES).map((n) => [n, pem]))));
  const db = join(dir, 'inventory.db');
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, SHELFLIFE_DB: db } });

  it('every human format of scan, then report, where and history: exit 0 and nothing raw on the terminal', () => {
    for (const f of ['table', 'md', 'html', 'csv']) {
      const r = run('scan', root, '-f', f);
      expect(r.status, `${f}: ${r.stderr}`).toBe(0);
      expect(r.stderr).not.toMatch(/URIError/);
      const lines = f === 'csv' ? r.stdout.split('\r\n') : r.stdout.split('\n');
      for (const line of lines) expect(line, f).not.toMatch(ACTING);
    }
    const scans = JSON.parse(run('history', '-f', 'json').stdout) as { id: string }[];
    const report = run('report', '--scan', scans.at(-1)!.id, '-f', 'table');
    expect(report.status, report.stderr).toBe(0);
    expect(report.stdout).toContain('bundle.tar!/100%zz%.pem');
    const history = run('history');
    expect(history.status, history.stderr).toBe(0);
    expect(history.stdout).not.toMatch(ACTING);
    expect(history.stdout).toContain('store-a\\x1B[31mRED');
    const json = JSON.parse(run('scan', root, '-f', 'json', '--no-db').stdout) as ScanResult;
    const member = json.artifacts.find((a) => a.uri.includes('invoice'))!;
    const where = run('where', member.sha256!);
    expect(where.status, where.stderr).toBe(0);
    expect(where.stdout).not.toMatch(ACTING);
    expect(where.stdout).toContain('\\u202E');
  });
});
