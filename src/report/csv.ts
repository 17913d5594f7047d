/**
 * CSV (RFC 4180), one row per finding (and one for a retired artifact still present that has none), safe to open in a spreadsheet: every cell is quoted, control and bidi
 * characters are shown as escapes (displayText: no cell spans lines or reorders), and a cell that a spreadsheet would
 * read as a formula (=, +, -, @ at its start) is prefixed with a single quote (OWASP "CSV injection").
 * @module
 */
import { severityOf } from './_facts.js';
import { displayText } from './text.js';
import type { Reporter } from './types.js';

const COLUMNS = [
  'artifact_uri',
  'parent',
  'sha256',
  'class',
  'kind',
  'format',
  'algorithm',
  'hash',
  'quantum_status',
  'classical_bits',
  'severity',
  'score',
  'subject',
  'not_after',
  'offset',
  'explanation',
  'retired_at',
  'retired_reason',
] as const;

export function csvCell(v: unknown): string {
  let s = v === undefined || v === null ? '' : displayText(v);
  if (/^[=+\-@]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

export const csvReporter: Reporter = {
  id: 'csv',
  description: 'CSV, one row per finding (formula-injection safe)',
  extension: 'csv',
  render(result) {
    const rows = [COLUMNS.map(csvCell).join(',')];
    for (const a of result.artifacts) {
      for (const f of a.findings) {
        rows.push(
          [
            a.uri,
            a.parent,
            a.sha256,
            a.class,
            f.kind,
            f.format,
            f.algorithm.id,
            f.algorithm.hash,
            f.quantum.status,
            f.quantum.classicalBits,
            severityOf(f),
            f.exposure?.score,
            f.subject,
            f.notAfter,
            f.location.offset,
            f.exposure?.explanation,
            a.retired?.at,
            a.retired?.reason,
          ]
            .map(csvCell)
            .join(','),
        );
      }
      // A retired artifact still present is a row even when it carries no finding (issue 16 item 10).
      if (a.retired && !a.findings.length)
        rows.push(
          [a.uri, a.parent, a.sha256, a.class, ...Array<undefined>(11), a.exposure?.explanation, a.retired.at, a.retired.reason].map(csvCell).join(','),
        );
    }
    return `${rows.join('\r\n')}\r\n`;
  },
};
