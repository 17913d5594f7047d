/**
 * The HTML report in a real headless Chromium (Debian `chromium`): it loads from a file with no network, renders
 * its charts, and a screenshot is taken. Not run (loudly) without Chromium outside CI; CI installs it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPORTERS } from '../../src/report/index.js';
import { findProgram, requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { sampleResult } from './sample.js';

const chromium = ['chromium', 'chromium-browser', 'google-chrome'].map(findProgram).find(Boolean);

describe('HTML report in headless Chromium', () => {
  requirePrerequisiteForAll(!chromium && 'the HTML report in headless Chromium: chromium not installed (apt-get install chromium)');
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-html-'));
  const file = join(dir, 'report.html');
  const history = [
    { id: 's1', finishedAt: '2026-09-01T00:00:00Z', bySeverity: { critical: 3, high: 5, medium: 4, low: 1, none: 2 } },
    { id: 's2', finishedAt: '2026-10-01T00:00:00Z', bySeverity: { critical: 2, high: 4, medium: 4, low: 1, none: 2 } },
    { id: 's3', finishedAt: '2026-11-01T00:00:00Z', bySeverity: { critical: 1, high: 1, medium: 1, low: 1, none: 1 } },
  ];
  writeFileSync(file, REPORTERS.html.render(sampleResult(), { cwd: '/srv', history }));
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--host-resolver-rules=MAP * ~NOTFOUND'];

  it('renders the report text and charts (DOM as the browser built it)', () => {
    const dom = execFileSync(chromium!, [...args, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] });
    expect(dom).toContain('Quantum exposure of long-lived artifacts');
    expect(dom).toContain('Exposure by artifact class');
    expect((dom.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(dom).toContain('<polyline'); // the trend line from the history
  });

  it('takes a full-page screenshot that is not blank', () => {
    const png = join(dir, 'report.png');
    execFileSync(chromium!, [...args, `--screenshot=${png}`, '--window-size=1280,2200', '--hide-scrollbars', `file://${file}`], {
      timeout: 60_000,
      stdio: 'ignore',
    });
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(bytes.readUInt32BE(16)).toBe(1280); // IHDR width
    expect(statSync(png).size).toBeGreaterThan(40_000); // a blank page compresses to a few KB
  });
});
