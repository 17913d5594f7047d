/**
 * The scoring flags shared by `scan` and `explain`: `--now`, `--crqc-year`, `--timeline`, `--policy`, `--config`
 * (and `--fail-on` for scan). Each is a key of ScoringOptions; the config file supplies what the flags leave out.
 * @module
 */
import { type Command, Option } from 'commander';
import { loadConfig, type ShelflifeConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { SEVERITIES, type Severity } from '../model.js';
import type { ScoringOptions } from '../scoring/index.js';

export interface ScoringCliOptions {
  now?: string;
  crqcYear?: string;
  timeline?: string;
  policy?: string[];
  config?: string;
  failOn?: string;
}

const collect = (v: string, prev: string[] = []) => [
  ...prev,
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

export function addScoringFlags(cmd: Command, opts: { failOn?: boolean } = {}): Command {
  cmd
    .option('--now <date>', 'score as of this date (ISO 8601, e.g. 2026-01-01), for reproducible runs')
    .option('--crqc-year <year>', 'scenario: a cryptographically relevant quantum computer exists from this year')
    .option('--timeline <name>', 'threat timeline from rules/timelines.yaml or the config (default: gri-2025-high)')
    .option('--policy <name>', 'policy from rules/policies/ (repeatable or comma-separated; default: nist-ir-8547)', collect)
    .option('--config <file>', 'shelflife.config.yaml with per-target classes, lifetimes, timelines and policies');
  if (opts.failOn) cmd.addOption(new Option('--fail-on <severity>', 'exit 1 when any finding reaches this severity').choices([...SEVERITIES].reverse()));
  return cmd;
}

export function parseNow(text: string): Date {
  // Only ISO dates: `Date.parse` accepts too much (locale formats) to be reproducible.
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(text))
    throw new UsageError(`--now: "${text}" is not an ISO 8601 date (e.g. 2026-01-01 or 2026-01-01T12:00:00Z)`);
  const d = new Date(text.length === 10 ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(d.getTime())) throw new UsageError(`--now: "${text}" is not a valid date`);
  return d;
}

/** The scoring options the flags give, with the config they name (its settings apply where no flag is given). */
export function scoringFromFlags(opts: ScoringCliOptions): { scoring: ScoringOptions; config?: ShelflifeConfig; failOn?: Severity; now?: Date } {
  const now = opts.now !== undefined ? parseNow(opts.now) : undefined;
  let crqcYear: number | undefined;
  if (opts.crqcYear !== undefined) {
    crqcYear = Number(opts.crqcYear);
    if (!/^\d{4}$/.test(opts.crqcYear) || crqcYear < 1990 || crqcYear > 2200)
      throw new UsageError(`--crqc-year must be a year from 1990 to 2200, not "${opts.crqcYear}"`);
  }
  const config = opts.config ? loadConfig(opts.config) : undefined;
  const failOn = opts.failOn as Severity | undefined;
  if (failOn !== undefined && !SEVERITIES.includes(failOn)) throw new UsageError(`--fail-on must be one of ${SEVERITIES.join(', ')}`);
  return {
    scoring: {
      ...(now ? { now } : {}),
      ...(crqcYear !== undefined ? { crqcYear } : {}),
      ...(opts.timeline ? { timeline: opts.timeline } : {}),
      ...(opts.policy?.length ? { policies: opts.policy } : {}),
      ...(config ? { config } : {}),
    },
    ...(config ? { config } : {}),
    ...(failOn ? { failOn } : {}),
    ...(now ? { now } : {}),
  };
}
