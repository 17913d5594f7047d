/**
 * Reports written to files after a scan (a config's `scan.outputs`, or a library user's list): `{date}` (the scan's
 * end, YYYY-MM-DD) and `{scan}` (its id) in a path are filled in; missing directories are made.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { makeDirectory } from '../directory.js';
import { dirname } from 'node:path';
import { ShelflifeError } from '../errors.js';
import type { ScanResult } from '../model.js';
import { REPORTERS, type RenderOptions, type ReportFormat } from './index.js';

export interface ReportOutput {
  format: ReportFormat;
  path: string;
}

/** The file a report goes to, with `{date}` and `{scan}` filled in. */
export function outputPath(result: ScanResult, path: string): string {
  // The scan id is a UUID from scan(); anything else that could leave the directory is replaced all the same.
  const scanId = result.scan.id.replace(/[^A-Za-z0-9._-]/g, '_');
  return path.replaceAll('{date}', result.scan.finishedAt.slice(0, 10)).replaceAll('{scan}', scanId);
}

/** Render and write every output; returns the paths written. Files are rendered without colour. */
export function writeReports(result: ScanResult, outputs: readonly ReportOutput[], options: RenderOptions = {}): string[] {
  return outputs.map((o) => {
    const path = outputPath(result, o.path);
    writeReportFile(path, REPORTERS[o.format].render(result, { ...options, color: false }));
    return path;
  });
}

/**
 * Write one report, making missing directories. A file that cannot be written (no permission, a full disk, a path
 * through a file) is an operational failure of the run, named with its path (exit 6), not a bug.
 */
export function writeReportFile(path: string, text: string): void {
  try {
    makeDirectory(dirname(path));
    writeFileSync(path, text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code !== 'string') throw e;
    throw new ShelflifeError('io', `cannot write the report: ${code}`, { uri: path, cause: e });
  }
}
