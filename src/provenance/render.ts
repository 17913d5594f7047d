/**
 * Rendering a provenance answer: `json` (the answer as is), `table` (a terminal), `md` (tickets, pull requests),
 * `html` (one self-contained page, everything escaped). And the admission check behind `--require`.
 * @module
 */
import { mdCode, mdText } from '../report/markdown.js';
import { displayText, htmlText, safeJson } from '../report/text.js';
import { UsageError } from '../errors.js';
import type { Dependency, Grade, ProvenanceAnswer } from './answer.js';
import { provenanceBom } from './cyclonedx.js';

export const PROVENANCE_FORMATS = ['json', 'table', 'md', 'html', 'cbom'] as const;
export type ProvenanceFormat = (typeof PROVENANCE_FORMATS)[number];

/** What `--require` can ask for, and how each is decided. */
export const REQUIREMENTS = {
  integrity: (a: ProvenanceAnswer) => a.integrity.status === 'verified' && a.integrity.grade === 'signed-verified',
  signed: (a: ProvenanceAnswer) => a.integrity.grade === 'signed' || a.integrity.grade === 'signed-verified',
  approved: (a: ProvenanceAnswer) => a.approval.approved === true && !a.retired.retired,
  lineage: (a: ProvenanceAnswer) => a.lineage.grade === 'signed-verified',
  evaluation: (a: ProvenanceAnswer) => a.evaluation.grade === 'signed-verified',
  'not-retired': (a: ProvenanceAnswer) => !a.retired.retired,
  'quantum-safe': (a: ProvenanceAnswer) => a.quantum.signatures.some((s) => s.check === 'verified' && (s.quantum === 'hybrid' || s.quantum === 'resistant')),
} as const;
export type Requirement = keyof typeof REQUIREMENTS;

export function parseRequirements(list: string[]): Requirement[] {
  return list
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean)
    .map((x) => {
      if (!(x in REQUIREMENTS)) throw new UsageError(`--require: "${x}" is not one of ${Object.keys(REQUIREMENTS).join(', ')}`);
      return x as Requirement;
    });
}

/** The requirements that do not hold. */
export function unmet(a: ProvenanceAnswer, required: readonly Requirement[]): Requirement[] {
  return required.filter((r) => !REQUIREMENTS[r](a));
}

interface Row {
  question: string;
  grade: Grade;
  answer: string;
  evidence: string[];
}

export function summaryRows(a: ProvenanceAnswer): Row[] {
  const i = a.integrity;
  const ev = (e: { uri: string }[]) => e.map((x) => x.uri);
  const seen = (p: Dependency) => (p.locations?.length ? ` (in the inventory: ${p.locations.slice(0, 3).join(', ')})` : '');
  const parents = [...new Set(a.lineage.parents.map((p) => `${p.name ?? p.uri ?? '?'}${seen(p)}`))];
  const datasets = [...new Set(a.lineage.datasets.map((p) => `${p.name ?? p.uri ?? '?'}${seen(p)}`))];
  const benches = a.evaluation.benchmarks.map((b) => `${b.name ?? b.uri ?? '?'}${b.result !== undefined ? `=${b.result}` : ''}`);
  return [
    {
      question: 'subject',
      grade: a.subject.grade,
      answer: `${a.subject.digest} (${a.subject.source}, ${a.subject.files.length} files)`,
      evidence: ev(a.subject.evidence),
    },
    {
      question: 'integrity',
      grade: i.grade,
      answer:
        i.status === 'modified'
          ? `modified: ${[i.changed.length ? `changed ${i.changed.join(', ')}` : '', i.missing.length ? `missing ${i.missing.join(', ')}` : '', i.added.length ? `added ${i.added.join(', ')}` : ''].filter(Boolean).join('; ')}`
          : `${i.status}${i.signature ? ` (${i.signature.reason})` : ''}`,
      evidence: ev(i.evidence),
    },
    {
      question: 'lineage',
      grade: a.lineage.grade,
      answer:
        [
          a.lineage.builder ? `built by ${a.lineage.builder}` : '',
          parents.length ? `parents: ${parents.join(', ')}` : '',
          datasets.length ? `datasets: ${datasets.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; ') || 'unknown',
      evidence: ev(a.lineage.evidence),
    },
    {
      question: 'evaluation',
      grade: a.evaluation.grade,
      answer: [
        a.evaluation.time ? `last ${a.evaluation.time}` : 'time unknown',
        a.evaluation.result ?? '',
        benches.length ? `benchmarks: ${benches.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; '),
      evidence: ev(a.evaluation.evidence),
    },
    {
      question: 'approval',
      grade: a.approval.grade,
      answer: `${a.approval.approved === true ? 'approved' : a.approval.approved === false ? 'NOT approved' : 'unknown'}: ${a.approval.reason}`,
      evidence: ev(a.approval.evidence),
    },
    {
      question: 'retired',
      grade: a.retired.grade,
      answer: a.retired.retired ? `retired ${a.retired.at}: ${a.retired.reason}` : a.retired.grade === 'absent' ? 'unknown (no inventory)' : 'no',
      evidence: ev(a.retired.evidence),
    },
    {
      question: 'copies',
      grade: a.copies.grade,
      answer:
        a.copies.grade === 'absent' ? 'unknown (no inventory)' : `${a.copies.count}${a.copies.locations.length ? `: ${a.copies.locations.join(', ')}` : ''}`,
      evidence: ev(a.copies.evidence),
    },
    {
      question: 'quantum',
      grade: a.quantum.grade,
      answer: a.quantum.signatures.length
        ? a.quantum.signatures.map((s) => `${s.algorithm} ${s.quantum}${s.exposure ? ` ${s.exposure.severity}` : ''}`).join('; ')
        : 'no signature',
      evidence: ev(a.quantum.evidence),
    },
  ];
}

export function renderProvenance(a: ProvenanceAnswer, format: ProvenanceFormat): string {
  switch (format) {
    case 'json':
      return `${safeJson(a, 2)}\n`;
    case 'table':
      return renderTable(a);
    case 'md':
      return renderMarkdown(a);
    case 'html':
      return renderHtml(a);
    case 'cbom':
      return `${safeJson(provenanceBom(a), 2)}\n`;
  }
}

function renderTable(a: ProvenanceAnswer): string {
  const lines = [`provenance of ${a.model}`, ''];
  for (const r of summaryRows(a)) lines.push(`${r.question.padEnd(11)} ${r.grade.padEnd(16)} ${r.answer}`);
  for (const p of a.problems) lines.push(`problem     ${p.uri}: ${p.message}`);
  // Model names, card text and evidence come from the model's own files and the stores: shown, never acted on.
  return `${lines.map(displayText).join('\n')}\n`;
}

/** Markdown as the scan report writes it (src/report/markdown.ts): identifiers as code spans, prose escaped. */
function renderMarkdown(a: ProvenanceAnswer): string {
  const out = [`## Provenance of ${mdCode(a.model)}`, '', '| question | grade | answer | evidence |', '|---|---|---|---|'];
  for (const r of summaryRows(a)) out.push(`| ${r.question} | ${r.grade} | ${mdText(r.answer)} | ${r.evidence.map(mdCode).join(', ')} |`);
  if (a.problems.length) out.push('', '### Problems', '', ...a.problems.map((p) => `- ${mdCode(p.uri)}: ${mdText(p.message)}`));
  return `${out.join('\n')}\n`;
}

const esc = htmlText;

function renderHtml(a: ProvenanceAnswer): string {
  const rows = summaryRows(a)
    .map(
      (r) =>
        `<tr><th>${esc(r.question)}</th><td class="g-${esc(r.grade)}">${esc(r.grade)}</td><td>${esc(r.answer)}</td><td>${r.evidence.map((e) => `<code>${esc(e)}</code>`).join('<br>')}</td></tr>`,
    )
    .join('\n');
  const problems = a.problems.length
    ? `<h2>Problems</h2><ul>${a.problems.map((p) => `<li><code>${esc(p.uri)}</code>: ${esc(p.message)}</li>`).join('')}</ul>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Provenance of ${esc(a.model)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}.g-signed-verified{background:#d4f7d4}.g-signed{background:#fff3c4}.g-declared{background:#e8eefc}.g-absent{background:#f3f3f3}</style>
</head><body><h1>Provenance of <code>${esc(a.model)}</code></h1><p>generated ${esc(a.generatedAt)}</p>
<table><tr><th>question</th><th>grade</th><th>answer</th><th>evidence</th></tr>
${rows}
</table>${problems}</body></html>
`;
}
