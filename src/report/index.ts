/**
 * Report formats are plug-ins over the same scan model: one Reporter each, listed in REPORTERS. `--format` choices
 * are `keyof typeof REPORTERS`, so the names users type cannot drift from the code.
 * @module
 */
import type { ScanResult } from '../model.js';
import { jsonReporter } from './json.js';
import { tableReporter } from './table.js';

export interface RenderOptions {
  /** Colour and terminal width, for human formats. */
  color?: boolean;
  width?: number;
  /** Paths in URIs are shown relative to this directory in human formats. */
  cwd?: string;
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
} satisfies Record<string, Reporter>;

export type ReportFormat = keyof typeof REPORTERS;

export function isReportFormat(f: string): f is ReportFormat {
  return Object.prototype.hasOwnProperty.call(REPORTERS, f);
}
