/**
 * The HTML report in a real headless Chromium (Debian `chromium`): it loads from a file with no network, renders
 * its charts, and a screenshot is taken; the charts are measured as laid out at 1280 and 480 CSS pixels wide (issue 16
 * item 13). Not run (loudly) without Chromium outside CI; CI installs it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactResult, ScanResult } from '../../src/model.js';
import { REPORTERS } from '../../src/report/index.js';
import { CHROMIUM as chromium, evaluateInPage } from '../helpers/chromium.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { sampleResult } from './sample.js';

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

/** A scan whose vulnerable findings must stay trusted until years from 2008 to 2060, two of them already past. */
function yearsResult(): ScanResult {
  const r = sampleResult();
  const art = (year: number, n: number, retired = false): ArtifactResult => ({
    uri: `file:///srv/releases/y${year}.bin`,
    parent: null,
    sha256: String(year).padStart(64, '0'),
    size: 10,
    class: 'firmware',
    ...(retired ? { retired: { at: '2026-01-01T00:00:00.000Z', reason: 'withdrawn' } } : {}),
    exposure: { score: 50, severity: 'high', explanation: '', inputs: { retireYear: year } },
    findings: Array.from({ length: n }, (_, i) => ({
      kind: 'signature' as const,
      format: 'cms',
      algorithm: { id: 'RSA-2048', family: 'RSA' },
      quantum: { status: 'vulnerable' as const, classicalBits: 112, nistLevel: null },
      location: { offset: i },
    })),
    errors: [],
  });
  r.artifacts = [art(2008, 3), art(2015, 2, true), art(2029, 7), art(2033, 12), art(2045, 4), art(2060, 1)];
  return r;
}

interface Box {
  text: string;
  x: number;
  y: number;
  w: number;
  h: number;
}
interface ChartLayout {
  label: string;
  svg: Box;
  x: Box[];
  y: Box[];
  bars: { fill: string; title: string }[];
}

/** In the page: every chart drawing that is shown, with its tick labels' boxes and its bars. */
const MEASURE = `[...document.querySelectorAll('.chart svg')].filter((s) => getComputedStyle(s).display !== 'none').map((s) => {
  const box = (e) => { const r = e.getBoundingClientRect(); return { text: e.textContent, x: r.x, y: r.y, w: r.width, h: r.height }; };
  return { label: s.getAttribute('aria-label'), svg: box(s), x: [...s.querySelectorAll('text.tick-x')].map(box), y: [...s.querySelectorAll('text.tick-y')].map(box),
    bars: [...s.querySelectorAll('rect')].map((r) => ({ fill: r.getAttribute('fill'), title: r.querySelector('title')?.textContent ?? '' })) };
})`;

const overlap = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const inside = (a: Box, s: Box) => a.x >= s.x - 0.5 && a.y >= s.y - 0.5 && a.x + a.w <= s.x + s.w + 0.5 && a.y + a.h <= s.y + s.h + 0.5;

describe('HTML report charts as a person reads them (issue 16 item 13)', () => {
  requirePrerequisiteForAll(!chromium && 'the HTML report charts in headless Chromium: chromium not installed (apt-get install chromium)');
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-charts-'));
  const file = join(dir, 'report.html');
  const history = [
    { id: 's1', finishedAt: '2026-09-01T06:00:00Z', bySeverity: { critical: 3, high: 5, medium: 4, low: 1, none: 2 } },
    { id: 's2', finishedAt: '2026-10-01T08:00:00Z', bySeverity: { critical: 2, high: 4, medium: 4, low: 1, none: 2 } },
    { id: 's3', finishedAt: '2026-10-01T14:30:00Z', bySeverity: { critical: 2, high: 3, medium: 9, low: 4, none: 2 } },
    { id: 's4', finishedAt: '2026-11-01T00:00:00Z', bySeverity: { critical: 1, high: 1, medium: 1, low: 1, none: 1 } },
  ];
  const layouts = new Map<number, ChartLayout[]>();
  beforeAll(async () => {
    if (!chromium) return;
    writeFileSync(file, REPORTERS.html.render(yearsResult(), { cwd: '/srv', history }));
    for (const width of [1280, 480]) layouts.set(width, await evaluateInPage<ChartLayout[]>(`file://${file}`, width, 900, MEASURE));
  }, 120_000);

  for (const width of [1280, 480]) {
    it(`at ${width} px: tick labels present, readable, inside the chart, never overlapping`, () => {
      const charts = layouts.get(width)!;
      expect(charts.map((c) => c.label).sort()).toEqual(['findings over past scans', 'vulnerable findings by the year their artifact must still be trusted']);
      for (const c of charts) {
        expect(c.svg.w, c.label).toBeLessThanOrEqual(width);
        expect(c.x.length, c.label).toBeGreaterThanOrEqual(3);
        expect(c.y.length, c.label).toBeGreaterThanOrEqual(3);
        for (const t of [...c.x, ...c.y]) {
          expect(t.h, `${c.label}: "${t.text}" is at least 10 px high`).toBeGreaterThanOrEqual(10);
          expect(inside(t, c.svg), `${c.label}: "${t.text}" inside the chart`).toBe(true);
        }
        for (const ticks of [c.x, c.y])
          for (let i = 0; i < ticks.length; i++)
            for (let j = i + 1; j < ticks.length; j++) expect(overlap(ticks[i], ticks[j]), `${c.label}: "${ticks[i].text}" and "${ticks[j].text}"`).toBe(false);
        // The y axis: ticks from 0, evenly spaced on a nice step.
        const ys = c.y.map((t) => Number(t.text));
        expect(ys[0]).toBe(0);
        const step = ys[1] - ys[0];
        expect([1, 2, 5, 10, 20, 50]).toContain(step);
        ys.forEach((v, i) => expect(v).toBe(i * step));
      }
    });

    it(`at ${width} px: every year of the range labelled, or every k-th at a regular step`, () => {
      const c = layouts.get(width)!.find((x) => x.label.startsWith('vulnerable findings'))!;
      const labelled = c.x.map((t) => Number(t.text));
      expect(labelled.every((y) => y >= 2008 && y <= 2060)).toBe(true);
      const k = labelled[1] - labelled[0];
      expect([1, 2, 5, 10, 20]).toContain(k);
      expect(labelled).toEqual(Array.from({ length: labelled.length }, (_, i) => labelled[0] + i * k));
      expect(labelled[0] - 2008).toBeLessThan(k);
      expect(2060 - labelled[labelled.length - 1]).toBeLessThan(k);
      expect(k).toBeLessThanOrEqual(width === 1280 ? 5 : 10);
    });

    it(`at ${width} px: one label per scan date on the trend`, () => {
      const c = layouts.get(width)!.find((x) => x.label === 'findings over past scans')!;
      const labels = c.x.map((t) => t.text);
      expect(labels).toEqual(['2026-09-01', '2026-10-01', '14:30', '2026-11-01']);
    });
  }

  it('past years are not drawn in the alarm colour unless a retired artifact is still there', () => {
    const bars = layouts.get(1280)!.find((x) => x.label.startsWith('vulnerable findings'))!.bars;
    const fill = (year: number) => bars.find((b) => b.title.startsWith(`${year}:`))?.fill;
    const alarm = '#8b0000';
    expect(fill(2008)).not.toBe(alarm); // a lifetime already over, nothing retired: not an alarm
    expect(fill(2015)).toBe(alarm); // retired with `shelflife retire` and still present
    expect(fill(2029)).toBe(alarm); // must stay trusted past the 2030 deprecation
    expect(new Set(bars.map((b) => b.title.slice(0, 4))).size).toBe(6);
  });
});
