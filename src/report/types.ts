/**
 * What a report format is: one Reporter over the scan model, listed in REPORTERS (src/report/index.ts).
 * @module
 */
import type { ScanResult, Severity } from '../model.js';

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
  /**
   * The same text as `render`, in pieces (one artifact at a time), for formats that can be written as a stream: the
   * file writer (src/report/write.ts) and the CLI write the pieces as they come, so the whole text is never held.
   */
  chunks?(result: ScanResult, options: RenderOptions): Iterable<string>;
}
