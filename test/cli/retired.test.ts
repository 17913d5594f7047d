/**
 * Issue 16 item 10: after `shelflife retire`, retired artifacts still present are the headline of every human report
 * (table, Markdown, HTML open with them: what, where, since when, why), CSV has columns for it, SARIF a result per
 * location at `error`, and `diff` a section of its own. The real binary, a real inventory, a retired key with a copy.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanDiff } from '../../src/inventory/inventory.js';
import type { ScanResult } from '../../src/model.js';
import { FIXTURES } from '../helpers/scan.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const work = mkdtempSync(join(tmpdir(), 'shelflife-retired-'));
const tree = join(work, 'srv');
const db = join(work, 'inventory.db');
const REASON = 'signing key leaked (INC-4711)';
const KEY = join(FIXTURES, 'pki', 'certs', 'rsa1024.pem');
const digest = createHash('sha256').update(readFileSync(KEY)).digest('hex');
const notes = 'release notes 1.0\n';
const notesDigest = createHash('sha256').update(notes).digest('hex');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, encoding: 'utf8', timeout: 120_000, env: { ...process.env, SHELFLIFE_DB: db } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  mkdirSync(join(tree, 'keys'), { recursive: true });
  mkdirSync(join(tree, 'other'), { recursive: true });
  copyFileSync(KEY, join(tree, 'keys', 'vendor.pem'));
  copyFileSync(join(FIXTURES, 'pki', 'certs', 'ed25519.pem'), join(tree, 'keys', 'fine.pem'));
  writeFileSync(join(tree, 'other', 'NOTES.txt'), notes);
  expect(run(['scan', tree, '-o', join(work, 'first.json')]).code).toBe(0);
  expect(run(['retire', digest, '--reason', REASON]).code).toBe(0);
  expect(run(['retire', notesDigest, '--reason', 'superseded by 2.0']).code).toBe(0);
  // The retired key is still there, and someone copied it elsewhere.
  copyFileSync(KEY, join(tree, 'other', 'backup.pem'));
  run(['scan', tree, '-o', join(work, 'second.json')]);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const scanJson = () => join(work, 'second.json');

describe('retired artifacts still present (issue 16 item 10)', () => {
  it('the JSON marks each copy retired, with when and why', () => {
    const r = JSON.parse(readFileSync(scanJson(), 'utf8')) as ScanResult;
    const retired = r.artifacts.filter((a) => a.retired).map((a) => [a.uri.replace(/^.*\/srv\//, ''), a.retired?.reason]);
    expect(retired.sort()).toEqual([
      ['keys/vendor.pem', REASON],
      ['other/NOTES.txt', 'superseded by 2.0'],
      ['other/backup.pem', REASON],
    ]);
  });

  it('the table opens with them: digest, date, reason and every location', () => {
    const out = run(['report', '-f', 'table']).stdout;
    const lines = out.split('\n');
    expect(lines[0]).toBe('RETIRED BUT STILL PRESENT: 3 locations of 2 retired artifacts (remove each copy; `shelflife where <sha256>` lists them)');
    const today = new Date().toISOString().slice(0, 10);
    const block = lines.slice(0, lines.indexOf('')).join('\n');
    expect(block).toContain(`sha256:${digest} retired ${today}: ${REASON}`);
    expect(block).toMatch(/srv\/keys\/vendor\.pem/);
    expect(block).toMatch(/srv\/other\/backup\.pem/);
    expect(block).toContain(`sha256:${notesDigest} retired ${today}: superseded by 2.0`);
    // Then the findings, as before.
    expect(out.indexOf('SEVERITY')).toBeGreaterThan(out.indexOf('backup.pem'));
  });

  it('Markdown and HTML open with a section of their own', () => {
    const md = run(['report', '-f', 'md']).stdout;
    const head = md.indexOf('### Retired but still present: 3 locations of 2 retired artifacts');
    expect(head).toBeGreaterThan(0);
    expect(head).toBeLessThan(md.indexOf('| severity | findings |'));
    expect(md).toContain(REASON);
    const html = run(['report', '-f', 'html']).stdout;
    const section = html.indexOf('<section class="alarm" id="retired"><h2>Retired but still present: 3 locations of 2 retired artifacts</h2>');
    expect(section).toBeGreaterThan(0);
    expect(section).toBeLessThan(html.indexOf('<div class="cards">'));
    expect(html.slice(section, html.indexOf('</section>', section))).toContain(REASON);
  });

  it('CSV says it in columns, with a row for a retired artifact that has no finding', () => {
    const csv = run(['report', '-f', 'csv']).stdout.trim().split('\r\n');
    expect(csv[0].split(',').slice(-2)).toEqual(['"retired_at"', '"retired_reason"']);
    const rows = csv.slice(1).filter((l) => l.includes(REASON));
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(csv.filter((l) => l.includes('NOTES.txt'))).toEqual([expect.stringMatching(/"superseded by 2\.0"$/)]);
    for (const l of csv) expect(l.split(/","/).length).toBe(18);
  });

  it('SARIF has an error result per location, with a rule of its own', () => {
    const log = JSON.parse(run(['report', '-f', 'sarif']).stdout);
    const results = log.runs[0].results.filter((x: { ruleId: string }) => x.ruleId === 'shelflife/retired-artifact-present');
    expect(results).toHaveLength(3);
    for (const x of results) expect(x.level).toBe('error');
    expect(results.map((x: { properties: { retiredReason: string } }) => x.properties.retiredReason).sort()).toEqual([REASON, REASON, 'superseded by 2.0']);
    expect(log.runs[0].tool.driver.rules.some((r: { id: string }) => r.id === 'shelflife/retired-artifact-present')).toBe(true);
  });

  it('diff has a section of its own (text and JSON)', () => {
    const text = run(['diff']).stdout;
    expect(text).toMatch(/\nRETIRED BUT STILL PRESENT: 3 locations of 2 retired artifacts/);
    expect(text).toContain(`sha256:${digest} retired`);
    const d = JSON.parse(run(['diff', '-f', 'json']).stdout) as ScanDiff;
    expect(d.retired?.map((g) => [g.sha256, g.locations.length]).sort()).toEqual(
      [
        [digest, 2],
        [notesDigest, 1],
      ].sort(),
    );
  });

  it('a scan with nothing retired says nothing about retirement', () => {
    const r = run(['scan', join(tree, 'keys', 'fine.pem'), '--no-db', '-f', 'table']);
    expect(r.stdout).not.toMatch(/RETIRED/);
  });
});
