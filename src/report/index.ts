/**
 * Report formats are plug-ins over the same scan model: one Reporter each, listed in REPORTERS. `--format` choices
 * are `keyof typeof REPORTERS`, so the names users type cannot drift from the code.
 * @module
 */
import type { ScanResult, Severity } from '../model.js';
import { cbomReporter } from './cbom.js';
import { csvReporter } from './csv.js';
import { htmlReporter } from './html.js';
import { jsonReporter } from './json.js';
import { markdownReporter } from './markdown.js';
import { ocsfReporter } from './ocsf.js';
import { sarifReporter } from './sarif.js';
import { tableReporter } from './table.js';

export interface RenderOptions {
  /** Colour and terminal width, for human formats. */
  color?: boolean;
  width?: number;
  /** Paths in URIs are shown relative to this directory in human formats. */
  cwd?: string;
  /** Past scans, oldest first, for trend charts (supplied by the inventory). */
  history?: { id: string; finishedAt: string; bySeverity: Record<Severity, number> }[];
}

export interface Reporter {
  id: string;
  description: string;
  /** File extension for `-o` defaults. */
  extension: string;
  render(result: ScanResult, options: RenderOptions): string;
}

export const REPORTERS = {
  json: jsonReporter,
  table: tableReporter,
  sarif: sarifReporter,
  cbom: cbomReporter,
  html: htmlReporter,
  md: markdownReporter,
  csv: csvReporter,
  ocsf: ocsfReporter,
} satisfies Record<string, Reporter>;

export type ReportFormat = keyof typeof REPORTERS;

export function isReportFormat(f: string): f is ReportFormat {
  return Object.prototype.hasOwnProperty.call(REPORTERS, f);
}
