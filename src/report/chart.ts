/**
 * Server-side SVG charts for the HTML report (no script runs at view time): bars or lines over a category axis, with a
 * linear y axis whose ticks fall on "nice" steps (1, 2, 5 × 10ⁿ), grid lines and an axis title. Category labels never
 * overlap: each is drawn when all fit, otherwise every k-th at a regular step (k from 1, 2, 5, 10 …, aligned on the
 * category's key, so years are labelled at 2030, 2035, 2040 …). Widths are estimated from the font size with a margin,
 * and checked in a real browser (test/report/html-chromium.test.ts). Pure: data in, SVG text out.
 * @module
 */
import { htmlText as esc } from './text.js';

export interface ChartOptions {
  /** Accessible name of the chart (`aria-label`). */
  title: string;
  /** The viewBox; the SVG is drawn at the width of its box, keeping this aspect ratio. */
  width: number;
  height: number;
  fontSize: number;
  /** Title of the y axis. */
  yTitle: string;
  /** One label per category, in order. */
  categories: string[];
  /** A number per category that thinned labels align on (a year); the index by default. */
  keys?: number[];
  /** Extra class on the <svg> (the report shows a wide or a narrow drawing by CSS). */
  className?: string;
}

export interface Bar {
  value: number;
  colour: string;
  /** Tooltip (`<title>`). */
  title: string;
}

export interface Series {
  name: string;
  colour: string;
  values: number[];
}

/** A step of 1, 2 or 5 × 10ⁿ at least `rough`, and at least 1 (counts are integers). */
export function niceStep(rough: number): number {
  if (!(rough > 1)) return 1;
  const p = 10 ** Math.floor(Math.log10(rough));
  const f = rough / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** Ticks from 0 to the first multiple of a nice step at or above `max`, about `target` of them. */
export function niceTicks(max: number, target = 5): number[] {
  const step = niceStep(Math.max(max, 1) / target);
  const top = Math.max(step, Math.ceil(Math.max(max, 1) / step) * step);
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(v);
  return ticks;
}

/** Estimated advance of one character: wide enough for digits and most Latin text in system-ui at this size. */
const charWidth = (fontSize: number) => fontSize * 0.62;

/**
 * Which category labels to draw: all when the longest fits its slot with a gap, else every k-th (k = 1, 2, 5, 10 …)
 * on keys that are multiples of k, with k the smallest step whose labels are at least one label apart.
 */
export function labelStep(labels: string[], slot: number, fontSize: number): number {
  const longest = Math.max(0, ...labels.map((l) => l.length)) * charWidth(fontSize) + fontSize;
  for (let k = 1; ; k = niceStep(k + 1)) if (k * slot >= longest || k >= labels.length) return k;
}

interface Frame {
  svgOpen: string;
  axes: string;
  x: (i: number) => number;
  y: (v: number) => number;
  slot: number;
  plot: { x0: number; x1: number; y0: number; y1: number };
}

function frame(o: ChartOptions, max: number): Frame {
  const fs = o.fontSize;
  const ticks = niceTicks(max);
  const top = ticks[ticks.length - 1];
  const tickChars = Math.max(...ticks.map((t) => String(t).length));
  const x0 = Math.ceil(fs * 1.6 + tickChars * charWidth(fs) + 10);
  // Room on the right for half the last label, centred on its bar.
  const x1 = o.width - Math.max(8, Math.ceil((Math.max(0, ...o.categories.map((c) => c.length)) * charWidth(fs)) / 2) + 2);
  const y0 = o.height - Math.ceil(fs * 1.6 + 8);
  const y1 = Math.ceil(fs * 1.4 + 4);
  const n = Math.max(1, o.categories.length);
  const slot = (x1 - x0) / n;
  const x = (i: number) => x0 + slot * (i + 0.5);
  const y = (v: number) => y0 - (v / top) * (y0 - y1);
  const grid = ticks
    .map((t) => {
      const ty = y(t).toFixed(1);
      return `<line x1="${x0}" x2="${x1}" y1="${ty}" y2="${ty}" stroke="${t === 0 ? '#495057' : '#e9ecef'}"/><text class="tick tick-y" x="${x0 - 6}" y="${ty}" dy="0.35em" text-anchor="end">${t}</text>`;
    })
    .join('');
  const step = labelStep(o.categories, slot, fs);
  const keys = o.keys ?? o.categories.map((_, i) => i);
  const labels = o.categories
    .map((label, i) =>
      keys[i] % step === 0 || step === 1
        ? `<text class="tick tick-x" x="${x(i).toFixed(1)}" y="${y0 + fs + 6}" text-anchor="middle">${esc(label)}</text><line x1="${x(i).toFixed(1)}" x2="${x(i).toFixed(1)}" y1="${y0}" y2="${y0 + 4}" stroke="#495057"/>`
        : '',
    )
    .join('');
  const yTitle = `<text class="axis-title" transform="translate(${Math.ceil(fs * 0.9)} ${((y0 + y1) / 2).toFixed(1)}) rotate(-90)" text-anchor="middle">${esc(o.yTitle)}</text>`;
  return {
    svgOpen: `<svg role="img" aria-label="${esc(o.title)}"${o.className ? ` class="${esc(o.className)}"` : ''} viewBox="0 0 ${o.width} ${o.height}" width="100%" font-size="${fs}">`,
    axes: `${grid}<line x1="${x0}" x2="${x0}" y1="${y1}" y2="${y0}" stroke="#495057"/>${labels}${yTitle}`,
    x,
    y,
    slot,
    plot: { x0, x1, y0, y1 },
  };
}

/** Vertical bars, one per category, with the value above a bar when it fits. */
export function barChart(o: ChartOptions, bars: Bar[]): string {
  const f = frame(o, Math.max(0, ...bars.map((b) => b.value)));
  const bw = Math.max(1, Math.min(48, f.slot * 0.72));
  const body = bars
    .map((b, i) => {
      const top = f.y(b.value);
      const cx = f.x(i);
      const fits = String(b.value).length * charWidth(o.fontSize) + 2 <= f.slot;
      const value = b.value && fits ? `<text class="value" x="${cx.toFixed(1)}" y="${(top - 4).toFixed(1)}" text-anchor="middle">${b.value}</text>` : '';
      return b.value
        ? `<rect x="${(cx - bw / 2).toFixed(1)}" y="${top.toFixed(1)}" width="${bw.toFixed(1)}" height="${(f.plot.y0 - top).toFixed(1)}" fill="${b.colour}"><title>${esc(b.title)}</title></rect>${value}`
        : '';
    })
    .join('');
  return `${f.svgOpen}${f.axes}${body}</svg>`;
}

/** Lines with a marker per point (its value in a tooltip), one per series. */
export function lineChart(o: ChartOptions, series: Series[]): string {
  const f = frame(o, Math.max(0, ...series.flatMap((s) => s.values)));
  const body = series
    .map((s) => {
      const pts = s.values.map((v, i) => [f.x(i), f.y(v)] as const);
      const line = `<polyline fill="none" stroke="${s.colour}" stroke-width="2.5" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`;
      const marks = pts
        .map(
          ([x, y], i) =>
            `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${s.colour}"><title>${esc(`${o.categories[i]}: ${s.values[i]} ${s.name}`)}</title></circle>`,
        )
        .join('');
      return line + marks;
    })
    .join('');
  return `${f.svgOpen}${f.axes}${body}</svg>`;
}
