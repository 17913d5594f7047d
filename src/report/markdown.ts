/**
 * Markdown for tickets and PR comments: totals, then the worst findings with their explanations, then the signed
 * models with their provenance in brief.
 * Everything that comes from an artifact (URIs, names, algorithm ids, subjects) is written as a code span, where
 * Markdown makes no link, image, HTML or @mention of it; prose is escaped. Both pass through displayText first
 * (src/report/text.ts), so control and bidi characters are shown, never acted on.
 * @module
 */
import { scanModels } from '../provenance/scan-models.js';
import { coverageTotals, describeFinding, isSignatureOfOthers, rankedFindings, retiredInScan, severityOf, signatureSummary, totals } from './_facts.js';
import { modelCells } from './_models.js';
import { displayText, displayUri } from './text.js';
import type { Reporter } from './types.js';

/**
 * An identifier as an inline code span inside a table cell (CommonMark §6.1; GFM tables): backticks cannot be
 * nested, so they become `'`; a pipe is escaped, as GFM requires even inside code spans.
 */
export function mdCode(s: string): string {
  const t = displayText(s).replace(/`/g, "'").replace(/\|/g, '\\|');
  return t ? `\`${t}\`` : '';
}

/**
 * Prose in a table cell: the characters that start inline markup in CommonMark/GFM (code, emphasis, links and images,
 * raw HTML and autolinks, entities, strikethrough, the cell separator) are backslash-escaped (§2.4); with `[` escaped
 * no link or image can open. The two things escaping cannot stop in every renderer, @mentions and bare-URL autolinks,
 * are broken by a zero-width space after `@` and inside `://` / `www.`.
 */
export function mdText(s: string): string {
  return displayText(s)
    .replace(/[\\`*_[\]<>|~&]/g, (c) => `\\${c}`)
    .replace(/@/g, '@\u200b')
    .replace(/:\/\//g, ':\u200b//')
    .replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}\u200b.`);
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
    lines.push(`Scan ${mdCode(result.scan.id)} finished ${mdText(result.scan.finishedAt)}; targets: ${result.scan.targets.map((x) => mdCode(x)).join(', ')}.`);
    lines.push('');
    // Retired artifacts still present open the report (issue 16 item 10): what, where, since when, why.
    const retired = retiredInScan(result);
    if (retired.length) {
      const n = retired.reduce((k, g) => k + g.locations.length, 0);
      lines.push(
        `### Retired but still present: ${n} location${n === 1 ? '' : 's'} of ${retired.length} retired artifact${retired.length === 1 ? '' : 's'}`,
        '',
      );
      lines.push('| retired | why | digest | still at | class |');
      lines.push('|---|---|---|---|---|');
      for (const g of retired.slice(0, 50))
        for (const l of g.locations.slice(0, 20))
          lines.push(
            `| ${mdText(g.retired.at.slice(0, 10))} | ${mdText(g.retired.reason)} | ${mdCode(`sha256:${g.sha256.slice(0, 16)}…`)} | ${mdCode(displayUri(l.uri, options.cwd))} | ${mdText(l.class ?? '')} |`,
          );
      if (retired.length > 50 || retired.some((g) => g.locations.length > 20)) lines.push('', '…and more (see the JSON report).');
      lines.push('');
    }
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
        lines.push(
          `| ${severityOf(f)} | ${mdCode(alg)} | ${f.kind} | ${mdCode(displayUri(a.uri, options.cwd))} | ${mdText(f.exposure?.explanation ?? describeFinding(f))} |`,
        );
      }
      if (ranked.length > 50) lines.push('', `…and ${ranked.length - 50} more (see the JSON or HTML report).`);
      lines.push('');
    }
    const cov = coverageTotals(result);
    if (cov.signed || cov.covered || cov.unsigned.length || cov.indexUnsigned) {
      lines.push('### Signatures');
      lines.push('');
      lines.push(
        `${cov.signed} signed, ${cov.covered} covered by a signed checksum list or model signature, ${cov.hybridSigned} hybrid-signed, **${cov.unsigned.length} unsigned** that should be signed${cov.indexUnsigned ? `, ${cov.indexUnsigned} listed only by unsigned checksum files` : ''}.`,
        '',
      );
      // Per artifact: what signs or covers it (signature files themselves are shown with what they sign).
      const rows = result.artifacts.filter((a) => !isSignatureOfOthers(a) && (a.signedBy?.length || a.signed === false));
      rows.sort((x, y) => Number(y.signed === false) - Number(x.signed === false) || (y.exposure?.score ?? 0) - (x.exposure?.score ?? 0));
      if (rows.length) {
        lines.push('| artifact | class | signed by / covered by | severity |');
        lines.push('|---|---|---|---|');
        for (const a of rows.slice(0, 50))
          lines.push(
            `| ${mdCode(displayUri(a.uri, options.cwd))} | ${mdText(a.class ?? '')} | ${mdText(signatureSummary(a) ?? '')} | ${a.exposure?.severity ?? ''} |`,
          );
        if (rows.length > 50) lines.push('', `…and ${rows.length - 50} more (see the JSON or HTML report).`);
        lines.push('');
      }
    }
    const models = scanModels(result);
    if (models.length) {
      lines.push(`### Models (${models.length})`, '');
      lines.push('| model | integrity | lineage | last evaluation | approval | model signature | retired |');
      lines.push('|---|---|---|---|---|---|---|');
      for (const m of models.slice(0, 50)) {
        const c = modelCells(m);
        lines.push(
          `| ${mdCode(displayUri(m.uri, options.cwd))} ${mdCode(`sha256:${m.root.slice(0, 16)}…`)} | ${mdText(c.integrity)} | ${mdText(c.lineage)} | ${mdText(c.evaluation)} | ${mdText(c.approval)} | ${mdText(c.signature)} | ${mdText(c.retired)} |`,
        );
      }
      if (models.length > 50) lines.push('', `…and ${models.length - 50} more (see the JSON or HTML report).`);
      lines.push('');
    }
    if (t.errors) lines.push(`${t.errors} artifacts could not be read completely; see the JSON report's \`errors\`.`, '');
    return `${lines.join('\n')}\n`;
  },
};
