/**
 * Reports written to files after a scan (a config's `scan.outputs`, or a library user's list): `{date}` (the scan's
 * end, YYYY-MM-DD) and `{scan}` (its id) in a path are filled in; missing directories are made. A format that can
 * make its text in pieces (`Reporter.chunks`: JSON) is written piece by piece, never held whole.
 * @module
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { makeDirectory } from '../directory.js';
import { dirname } from 'node:path';
import { ShelflifeError } from '../errors.js';
import type { ScanResult } from '../model.js';
import { REPORTERS, type RenderOptions, type ReportFormat } from './index.js';
import type { Reporter } from './types.js';

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
    writeReportFile(path, reportText(REPORTERS[o.format], result, { ...options, color: false }));
    return path;
  });
}

/** A report's text: in pieces of up to WRITE_BATCH characters when its format makes it in pieces, else whole. */
export function reportText(reporter: Reporter, result: ScanResult, options: RenderOptions): string | Iterable<string> {
  return reporter.chunks ? batched(reporter.chunks(result, options)) : reporter.render(result, options);
}

/** Characters gathered into one write (pieces are an artifact each: a write per artifact would be a syscall each). */
const WRITE_BATCH = 1 << 20;

function* batched(pieces: Iterable<string>): Iterable<string> {
  let parts: string[] = [];
  let n = 0;
  for (const p of pieces) {
    parts.push(p);
    n += p.length;
    if (n >= WRITE_BATCH) {
      yield parts.join('');
      parts = [];
      n = 0;
    }
  }
  if (parts.length) yield parts.join('');
}

/**
 * Write one report, making missing directories. A file that cannot be written (no permission, a full disk, a path
 * through a file) is an operational failure of the run, named with its path (exit 6), not a bug.
 */
export function writeReportFile(path: string, text: string | Iterable<string>): void {
  try {
    makeDirectory(dirname(path));
    if (typeof text === 'string') writeFileSync(path, text);
    else {
      const fd = openSync(path, 'w');
      try {
        for (const piece of text) writeAll(fd, Buffer.from(piece, 'utf8'));
      } finally {
        closeSync(fd);
      }
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code !== 'string') throw e;
    throw new ShelflifeError('io', `cannot write the report: ${code}`, { uri: path, cause: e });
  }
}

/** writeSync may write less than it was given: go on until every byte is out. */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
}
