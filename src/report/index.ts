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

/** Names users of other scanners type for a format: `cyclonedx` (Trivy, Syft, Grype) is the CycloneDX CBOM. */
export const FORMAT_ALIASES: Readonly<Record<string, ReportFormat>> = { cyclonedx: 'cbom' };

/** Every name `--format` and a config's `outputs[].format` accept. */
export const FORMAT_NAMES: readonly string[] = [...Object.keys(REPORTERS), ...Object.keys(FORMAT_ALIASES)];

/** The format a name (or an alias) means, if any. */
export function reportFormat(name: string): ReportFormat | undefined {
  if (isReportFormat(name)) return name;
  return Object.prototype.hasOwnProperty.call(FORMAT_ALIASES, name) ? FORMAT_ALIASES[name] : undefined;
}
