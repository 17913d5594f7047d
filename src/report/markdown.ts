/**
 * Markdown for tickets and PR comments: totals, then the worst findings with their explanations.
 * @module
 */
import { describeFinding, rankedFindings, severityOf, totals } from './_facts.js';
import type { Reporter } from './types.js';
import { displayUri } from './table.js';

/** Table cells: pipes and newlines would break the row; backticks and angle brackets could inject markup. */
export function mdCell(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ')
    .replace(/`/g, "'")
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

export const markdownReporter: Reporter = {
  id: 'md',
  description: 'Markdown summary for tickets and pull-request comments',
  extension: 'md',
  render(result, options) {
    const t = totals(result);
    const lines: string[] = [];
    lines.push(`## shelflife scan: ${t.findings} findings in ${t.artifacts} artifacts`);
    lines.push('');
    lines.push(`Scan \`${result.scan.id}\` finished ${result.scan.finishedAt}; targets: ${result.scan.targets.map((x) => `\`${mdCell(x)}\``).join(', ')}.`);
    lines.push('');
    lines.push('| severity | findings |');
    lines.push('|---|---|');
    for (const s of ['critical', 'high', 'medium', 'low', 'none'] as const) lines.push(`| ${s} | ${t.bySeverity[s]} |`);
    lines.push('');
    const statuses = Object.entries(t.byStatus)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ');
    if (statuses) lines.push(`Quantum status: ${statuses}.`, '');
    const ranked = rankedFindings(result).filter(({ f }) => severityOf(f) !== 'none');
    if (ranked.length) {
      lines.push('### Worst findings');
      lines.push('');
      lines.push('| severity | algorithm | kind | artifact | what to do |');
      lines.push('|---|---|---|---|---|');
      for (const { a, f } of ranked.slice(0, 50)) {
        const alg = f.algorithm.hash ? `${f.algorithm.id} / ${f.algorithm.hash}` : f.algorithm.id;
        const where = displayUri(a.uri, options.cwd);
        lines.push(`| ${severityOf(f)} | ${mdCell(alg)} | ${f.kind} | ${mdCell(where)} | ${mdCell(f.exposure?.explanation ?? describeFinding(f))} |`);
      }
      if (ranked.length > 50) lines.push('', `…and ${ranked.length - 50} more (see the JSON or HTML report).`);
      lines.push('');
    }
    if (t.errors) lines.push(`${t.errors} artifacts could not be read completely; see the JSON report's \`errors\`.`, '');
    return `${lines.join('\n')}\n`;
  },
};
