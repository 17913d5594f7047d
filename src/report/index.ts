/**
 * Report formats are plug-ins over the same scan model: one Reporter each, listed in REPORTERS. `--format` choices
 * are `keyof typeof REPORTERS`, so the names users type cannot drift from the code.
 * @module
 */
import { cbomReporter } from './cbom.js';
import { csvReporter } from './csv.js';
import { htmlReporter } from './html.js';
import { jsonReporter } from './json.js';
import { markdownReporter } from './markdown.js';
import { ocsfReporter } from './ocsf.js';
import { sarifReporter } from './sarif.js';
import { tableReporter } from './table.js';
import type { Reporter } from './types.js';

export type { RenderOptions, Reporter } from './types.js';
export { shortName, signatureSummary } from './_facts.js';

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
