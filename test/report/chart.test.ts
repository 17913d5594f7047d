/** The chart module's arithmetic (src/report/chart.ts): nice steps, ticks, label thinning, and the SVG it writes. */
import { describe, expect, it } from 'vitest';
import { barChart, labelStep, lineChart, niceStep, niceTicks } from '../../src/report/chart.js';

describe('chart axes', () => {
  it('steps are 1, 2 or 5 × 10ⁿ, never below 1', () => {
    expect([0.3, 1, 1.5, 2, 2.1, 4.9, 5.1, 12, 230, 999].map(niceStep)).toEqual([1, 1, 2, 2, 5, 5, 10, 20, 500, 1000]);
  });

  it('ticks start at 0, cover the maximum, and are about five', () => {
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(3)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(12)).toEqual([0, 5, 10, 15]);
    expect(niceTicks(20)).toEqual([0, 5, 10, 15, 20]);
    expect(niceTicks(1234)).toEqual([0, 500, 1000, 1500]);
  });

  it('labels are thinned to every 1, 2, 5, 10 … when they do not fit their slot', () => {
    expect(labelStep(['2030', '2031'], 60, 12)).toBe(1);
    expect(labelStep(['2030', '2031'], 25, 12)).toBe(2);
    expect(
      labelStep(
        Array.from({ length: 53 }, (_, i) => String(2008 + i)),
        12.7,
        12,
      ),
    ).toBe(5);
    expect(labelStep(['2026-09-01', '2026-10-01'], 30, 12)).toBe(2);
  });

  it('writes an accessible SVG with escaped labels, y ticks, and one bar or point per value', () => {
    const o = { title: 'a <b>', width: 400, height: 200, fontSize: 11, yTitle: 'findings', categories: ['<x>', 'b', 'c'] };
    const bars = barChart(o, [
      { value: 3, colour: '#111', title: 'x: 3' },
      { value: 0, colour: '#111', title: 'b: 0' },
      { value: 7, colour: '#222', title: 'c: 7' },
    ]);
    expect(bars).toMatch(/^<svg role="img" aria-label="a &lt;b&gt;" viewBox="0 0 400 200"/);
    expect(bars.match(/<rect /g)).toHaveLength(2);
    expect(bars.match(/class="tick tick-y"/g)).toHaveLength(niceTicks(7).length);
    expect(bars).toContain('>&lt;x&gt;</text>');
    const lines = lineChart(o, [{ name: 'all', colour: '#333', values: [1, 2, 3] }]);
    expect(lines.match(/<circle /g)).toHaveLength(3);
    expect(lines).toContain('<polyline');
  });
});
