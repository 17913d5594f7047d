/**
 * The Models section's cells, in words, for the HTML and Markdown reports: one line per provenance answer (integrity,
 * lineage, last evaluation, approval) with its grade, the model signature's algorithms and exposure, retirement.
 * Pure text; each reporter escapes it for its own format.
 * @module
 */
import type { ScanModel } from '../model.js';

export interface ModelCells {
  integrity: string;
  lineage: string;
  evaluation: string;
  approval: string;
  signature: string;
  retired: string;
}

const list = (xs: string[], max = 3) => (xs.length > max ? `${xs.slice(0, max).join(', ')} and ${xs.length - max} more` : xs.join(', '));

export function modelCells(m: ScanModel): ModelCells {
  const p = m.provenance;
  const signature = m.signatures.map((s) => `${s.algorithm} ${s.quantum}${s.severity ? ` (${s.severity})` : ''}`).join('; ') || 'no signature algorithm found';
  const retired = m.retired ? `retired ${m.retired.at.slice(0, 10)}: ${m.retired.reason}` : '';
  if (!p) {
    const why = m.provenanceError ? `not answered: ${m.provenanceError}` : 'not answered';
    return { integrity: why, lineage: '', evaluation: '', approval: '', signature, retired };
  }
  const i = p.integrity;
  const integrity =
    i.status === 'modified'
      ? `modified (${[
          i.changed.length ? `changed: ${list(i.changed)}` : '',
          i.missing.length ? `missing: ${list(i.missing)}` : '',
          i.added.length ? `added: ${list(i.added)}` : '',
        ]
          .filter(Boolean)
          .join('; ')}) [${i.grade}]`
      : `${i.status} [${i.grade}]`;
  const l = p.lineage;
  const lineage =
    l.grade === 'absent'
      ? 'none found'
      : `${[l.parents.length ? `from ${list(l.parents)}` : '', l.datasets.length ? `data ${list(l.datasets)}` : '', l.builder ? `built by ${l.builder}` : '']
          .filter(Boolean)
          .join('; ')} [${l.grade}]`;
  const e = p.evaluation;
  const evaluation =
    e.grade === 'absent'
      ? 'none found'
      : `${e.time ? e.time.slice(0, 10) : 'undated'}: ${list(e.benchmarks.map((b) => (b.result !== undefined ? `${b.name} ${b.result}` : b.name))) || e.result || 'no benchmark named'}${e.result && e.benchmarks.length ? ` (${e.result})` : ''} [${e.grade}]`;
  const a = p.approval;
  const approval =
    a.approved === 'unknown'
      ? `unknown [${a.grade}]`
      : `${a.approved ? 'approved' : 'not approved'}${a.verifier ? ` by ${a.verifier}` : ''}${a.time ? ` ${a.time.slice(0, 10)}` : ''} [${a.grade}]`;
  return { integrity, lineage, evaluation, approval, signature, retired };
}
