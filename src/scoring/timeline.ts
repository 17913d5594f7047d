/**
 * Threat timelines: P(a CRQC exists by time t) as a curve (GRI expert survey) or a step (a fixed-year scenario).
 * Time is in fractional UTC years (2031.0 = 2031-01-01T00:00Z), so curves interpolate smoothly between survey points.
 * @module
 */
import { UsageError } from '../errors.js';
import type { TimelineEntry, Timelines } from './rules.js';

export interface Timeline {
  name: string;
  title: string;
  source?: string;
  /** Probability that a CRQC exists by fractional year `t`. Non-decreasing in t. */
  probabilityBy(t: number): number;
  /** The first fractional year at which the probability reaches `p`, or undefined when it never does. */
  yearReaching(p: number): number | undefined;
  /** Set for step timelines. */
  crqcYear?: number;
}

/** 2031-07-02T12:00Z → 2031.5 (fraction of the UTC calendar year elapsed). */
export function yearFraction(d: Date): number {
  const y = d.getUTCFullYear();
  const start = Date.UTC(y, 0, 1);
  const end = Date.UTC(y + 1, 0, 1);
  return y + (d.getTime() - start) / (end - start);
}

/** Inverse of yearFraction. */
export function dateOfYear(t: number): Date {
  const y = Math.floor(t);
  const start = Date.UTC(y, 0, 1);
  const end = Date.UTC(y + 1, 0, 1);
  return new Date(start + (t - y) * (end - start));
}

export function timelineFrom(name: string, entry: TimelineEntry): Timeline {
  if (entry.crqcYear !== undefined) return fixedYearTimeline(entry.crqcYear, name, entry.title);
  const pts = entry.curve!;
  return {
    name,
    title: entry.title,
    ...(entry.source ? { source: entry.source } : {}),
    probabilityBy(t) {
      if (!(t >= pts[0].year)) return 0; // before the first point (and NaN)
      for (let i = 1; i < pts.length; i++) {
        const a = pts[i - 1];
        const b = pts[i];
        if (t < b.year) return a.p + ((b.p - a.p) * (t - a.year)) / (b.year - a.year);
      }
      return pts[pts.length - 1].p;
    },
    yearReaching(p) {
      if (pts[0].p >= p) return pts[0].year;
      for (let i = 1; i < pts.length; i++) {
        const a = pts[i - 1];
        const b = pts[i];
        if (b.p >= p) return a.year + ((p - a.p) * (b.year - a.year)) / (b.p - a.p);
      }
      return undefined;
    },
  };
}

/** `--crqc-year 2032`: a CRQC exists from 1 January 2032 on. */
export function fixedYearTimeline(year: number, name = `crqc-${year}`, title = `Scenario: a CRQC exists from ${year}`): Timeline {
  return {
    name,
    title,
    crqcYear: year,
    probabilityBy: (t) => (t >= year ? 1 : 0),
    yearReaching: (p) => (p <= 0 ? -Infinity : year),
  };
}

/** Pick a timeline by name from the bundled and user tables, or make a fixed-year one. */
export function selectTimeline(tables: Timelines['timelines'][], opts: { name?: string; crqcYear?: number; defaultName: string }): Timeline {
  if (opts.crqcYear !== undefined) {
    if (!Number.isInteger(opts.crqcYear) || opts.crqcYear < 1990 || opts.crqcYear > 2200)
      throw new UsageError(`--crqc-year must be a year from 1990 to 2200, not ${opts.crqcYear}`);
    if (opts.name) throw new UsageError('--crqc-year and --timeline cannot be used together');
    return fixedYearTimeline(opts.crqcYear);
  }
  const name = opts.name ?? opts.defaultName;
  for (let i = tables.length - 1; i >= 0; i--) {
    const e = tables[i][name];
    if (e && Object.prototype.hasOwnProperty.call(tables[i], name)) return timelineFrom(name, e);
  }
  const known = [...new Set(tables.flatMap((t) => Object.keys(t)))].sort();
  throw new UsageError(`unknown timeline "${name}" (known: ${known.join(', ')})`);
}
