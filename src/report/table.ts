/**
 * The human table printed on a terminal: one row per finding, worst first, then a summary and the errors. Every cell
 * and message goes through displayText (src/report/text.ts): a hostile name cannot move the cursor, recolour the
 * terminal, fake a line or reorder what is shown.
 * @module
 */
import type { ArtifactResult, Finding, ScanResult } from '../model.js';
import { SEVERITIES } from '../model.js';
import { displayText, displayUri } from './text.js';
import type { Reporter, RenderOptions } from './types.js';
import { renderError } from '../errors.js';
import { coverageTotals, retiredInScan, type RetiredPresent } from './_facts.js';
import { retiredLocationCount } from '../inventory/retirement.js';

const STATUS_COLOR: Record<string, string> = { vulnerable: '31', weakened: '33', resistant: '32', hybrid: '36', unknown: '35' };
const SEVERITY_COLOR: Record<string, string> = { critical: '1;31', high: '31', medium: '33', low: '36', none: '32' };

export const tableReporter: Reporter = {
  id: 'table',
  description: 'human-readable table (default on a terminal)',
  extension: 'txt',
  render: renderTable,
};

function severityRank(f: Finding): number {
  return f.exposure ? SEVERITIES.indexOf(f.exposure.severity) : -1;
}

export function renderTable(result: ScanResult, options: RenderOptions = {}): string {
  const c = (code: string, s: string) => (options.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const rows: { a: ArtifactResult; f: Finding }[] = [];
  for (const a of result.artifacts) for (const f of a.findings) rows.push({ a, f });
  rows.sort((x, y) => severityRank(y.f) - severityRank(x.f) || (x.a.uri < y.a.uri ? -1 : 1));
  const scored = rows.some((r) => r.f.exposure);
  const header = [...(scored ? ['SEVERITY'] : []), 'KIND', 'ALGORITHM', 'QUANTUM', 'FORMAT', 'ARTIFACT'];
  const table = rows.map(({ a, f }) => {
    const alg = f.algorithm.hash && !f.algorithm.id.includes(f.algorithm.hash) ? `${f.algorithm.id} / ${f.algorithm.hash}` : f.algorithm.id;
    const where = displayUri(a.uri, options.cwd) + (f.location.offset ? `@${f.location.offset}` : '');
    return [...(scored ? [f.exposure?.severity ?? ''] : []), f.kind, alg, f.quantum.status, f.format, where].map(displayText);
  });
  const widths = header.map((h, i) => Math.min(48, Math.max(h.length, ...table.map((r) => r[i].length))));
  const fmt = (r: string[], colour: boolean) =>
    r
      .map((cell, i) => {
        const padded = i === r.length - 1 ? cell : cell.padEnd(widths[i]);
        if (!colour) return padded;
        if (header[i] === 'QUANTUM') return c(STATUS_COLOR[cell] ?? '0', padded);
        if (header[i] === 'SEVERITY') return c(SEVERITY_COLOR[cell] ?? '0', padded);
        return padded;
      })
      .join('  ');
  const lines: string[] = [];
  // Retired artifacts still around come first: a copy of something the team decided to get rid of is the first thing
  // to act on, whatever its algorithm (issue 16 item 10).
  const retired = retiredLines(retiredInScan(result), options.cwd);
  if (retired.length) lines.push(...retired.map((l, i) => (i === 0 ? c('1;31', l) : l)), '');
  if (table.length) {
    lines.push(c('1', fmt(header, false)));
    for (const r of table) lines.push(fmt(r, true));
  } else {
    lines.push('No signatures, certificates, keys or encrypted data found.');
  }
  const s = result.scan.stats;
  const byStatus = new Map<string, number>();
  for (const { f } of rows) byStatus.set(f.quantum.status, (byStatus.get(f.quantum.status) ?? 0) + 1);
  const statusText = [...byStatus].map(([k, v]) => `${v} ${k}`).join(', ');
  lines.push('');
  lines.push(`${s.artifacts} artifacts, ${formatRead(s)}, ${s.findings} findings${statusText ? ` (${statusText})` : ''}, ${s.errors} errors`);
  const cov = coverageTotals(result);
  if (cov.signed || cov.covered || cov.unsigned.length)
    lines.push(
      `signatures: ${cov.signed} signed, ${cov.covered} covered by a signed list, ${cov.hybridSigned} hybrid-signed, ${cov.unsigned.length} unsigned that should be signed`,
    );
  if (cov.unsigned.length) {
    lines.push('');
    for (const a of cov.unsigned.slice(0, 50)) lines.push(c('33', `unsigned ${a.class ?? ''}: ${displayUri(a.uri, options.cwd)}`));
    if (cov.unsigned.length > 50) lines.push(`… and ${cov.unsigned.length - 50} more unsigned (see --format json)`);
  }
  const errs = result.artifacts.flatMap((a) => a.errors.map((e) => ({ code: e.code, text: renderError(e, a.uri) })));
  if (errs.length) {
    lines.push('');
    for (const e of errs.slice(0, 50)) lines.push(c('33', displayText(`error [${e.code}]: ${e.text}`)));
    if (errs.length > 50) lines.push(`… and ${errs.length - 50} more errors (see --format json)`);
  }
  return `${lines.join('\n')}\n`;
}

/** Bytes a scan read; an incremental rescan says what it reused ("0 B" alone reads as "scanned nothing"). */
export function formatRead(s: { bytes: number; reused?: number }): string {
  return s.reused ? `${formatBytes(s.bytes)} read, ${s.reused} reused` : formatBytes(s.bytes);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/**
 * Retired artifacts still present, for people (the table and `diff`): a headline, then per retired digest when and
 * why it was retired and every location it is still at. Empty when there are none.
 */
export function retiredLines(groups: readonly RetiredPresent[], cwd?: string): string[] {
  if (!groups.length) return [];
  const n = retiredLocationCount(groups);
  const lines = [
    `RETIRED BUT STILL PRESENT: ${n} location${n === 1 ? '' : 's'} of ${groups.length} retired artifact${groups.length === 1 ? '' : 's'} (remove each copy; \`shelflife where <sha256>\` lists them)`,
  ];
  for (const g of groups.slice(0, 50)) {
    lines.push(displayText(`  sha256:${g.sha256 || '(unknown digest)'} retired ${g.retired.at.slice(0, 10)}: ${g.retired.reason}`));
    for (const l of g.locations.slice(0, 20))
      lines.push(displayText(`    ${[l.severity, l.class].filter(Boolean).join(' ').padEnd(24)} ${displayUri(l.uri, cwd)}`));
    if (g.locations.length > 20) lines.push(`    … and ${g.locations.length - 20} more locations (see --format json)`);
  }
  if (groups.length > 50) lines.push(`  … and ${groups.length - 50} more retired artifacts (see --format json)`);
  return lines;
}
