/**
 * Facts every report format shares, computed once from the scan model: rule identity of a finding, its severity
 * (from scoring when present, else from the quantum status) and a one-line description. A finding's stable id is
 * `findingId` (src/identity.ts).
 * @module
 */
import type { ArtifactResult, Finding, ScanResult, Severity } from '../model.js';
import { SEVERITIES } from '../model.js';
import { retiredPresent, type RetiredPresent } from '../inventory/retirement.js';

/** The rule a finding belongs to: one per (kind × quantum status), e.g. `shelflife/signature/vulnerable`. */
export function ruleId(f: Finding): string {
  return `shelflife/${f.kind}/${f.quantum.status}`;
}

export const RULE_TEXT: Record<string, string> = {
  vulnerable: 'breakable by a cryptographically relevant quantum computer (Shor)',
  weakened: 'weakened by quantum search (Grover); informational below 256-bit keys',
  resistant: 'quantum-resistant',
  hybrid: 'hybrid: a classical algorithm combined with a quantum-resistant one',
  unknown: 'algorithm not recognised; its quantum status is unknown',
};

/** Scored severity, or a conservative stand-in from the quantum status when the scan was not scored. */
export function severityOf(f: Finding): Severity {
  if (f.exposure) return f.exposure.severity;
  switch (f.quantum.status) {
    case 'vulnerable':
      return 'medium';
    case 'unknown':
      return 'low';
    default:
      return 'none';
  }
}

export function worse(a: Severity, b: Severity): Severity {
  return SEVERITIES.indexOf(a) >= SEVERITIES.indexOf(b) ? a : b;
}

export function describeFinding(f: Finding): string {
  const alg = f.algorithm.hash && !f.algorithm.id.includes(f.algorithm.hash) ? `${f.algorithm.id} with ${f.algorithm.hash}` : f.algorithm.id;
  const what = { certificate: 'certificate', signature: 'signature', 'public-key': 'public key', 'private-key': 'private key', 'encrypted-data': 'encryption' }[
    f.kind
  ];
  const who = f.subject ? ` (${f.subject})` : '';
  return `${alg} ${f.format} ${what}${who}: ${RULE_TEXT[f.quantum.status]}`;
}

export interface Totals {
  artifacts: number;
  findings: number;
  errors: number;
  bySeverity: Record<Severity, number>;
  byStatus: Record<string, number>;
  byClass: Map<string, Record<Severity, number>>;
}

export function totals(result: ScanResult): Totals {
  const bySeverity: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, none: 0 };
  const byStatus: Record<string, number> = {};
  const byClass = new Map<string, Record<Severity, number>>();
  for (const a of result.artifacts) {
    for (const f of a.findings) {
      const s = severityOf(f);
      bySeverity[s]++;
      byStatus[f.quantum.status] = (byStatus[f.quantum.status] ?? 0) + 1;
      const cls = a.class ?? 'unclassified';
      const row = byClass.get(cls) ?? { critical: 0, high: 0, medium: 0, low: 0, none: 0 };
      row[s]++;
      byClass.set(cls, row);
    }
  }
  return {
    artifacts: result.artifacts.length,
    findings: result.scan.stats.findings,
    errors: result.scan.stats.errors,
    bySeverity,
    byStatus,
    byClass,
  };
}

/** Findings with their artifacts, worst first (severity, then score, then URI). */
export function rankedFindings(result: ScanResult): { a: ArtifactResult; f: Finding }[] {
  const rows: { a: ArtifactResult; f: Finding }[] = [];
  for (const a of result.artifacts) for (const f of a.findings) rows.push({ a, f });
  return rows.sort(
    (x, y) =>
      SEVERITIES.indexOf(severityOf(y.f)) - SEVERITIES.indexOf(severityOf(x.f)) ||
      (y.f.exposure?.score ?? 0) - (x.f.exposure?.score ?? 0) ||
      (x.a.uri < y.a.uri ? -1 : x.a.uri > y.a.uri ? 1 : 0),
  );
}

/** The last segment of a URI (a member's own name), decoded, for naming a signature file in a sentence. */
export function shortName(uri: string): string {
  const last =
    uri
      .replace(/[?#].*$/, '')
      .replace(/\/+$/, '')
      .split(/!\/|\//)
      .pop() || uri;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/**
 * How an artifact is signed, in words, for every human format: `signed by fw.bin.asc (RSA-3072, verified)`,
 * `covered by SHA256SUMS (signed by SHA256SUMS.asc: RSA-3072, verified)`, `unsigned`, or undefined when nothing is
 * known about it (a class that need not be signed, nothing beside it).
 */
export function signatureSummary(a: ArtifactResult): string | undefined {
  const parts = (a.signedBy ?? []).map((l) => {
    const how = `${l.algorithm}, ${l.verification}${l.verification === 'unverifiable' && l.reason ? `: ${l.reason}` : ''}`;
    if (l.via === 'checksum' && l.index) return `covered by ${shortName(l.index)} (signed by ${shortName(l.uri)}: ${how})`;
    if (l.via === 'index' && l.index) return `covered by ${shortName(l.index)} (signed by ${shortName(l.uri)}: ${how})`;
    if (l.via === 'model') return `covered by ${shortName(l.uri)} (${how})`;
    if (l.via === 'attached') return `signed (${l.format}, ${how})`;
    return `signed by ${shortName(l.uri)} (${how})`;
  });
  if (a.migration === 'hybrid-signed') parts.unshift('hybrid-signed');
  if (parts.length) return parts.join('; ');
  // A signature that failed over it, or a signed checksum it does not match, is why it is unsigned: say so.
  const failed = a.errors.find((e) => e.source === 'coverage');
  if (a.signed === false && failed) return `unsigned: ${failed.message}${failed.uri ? ` (${shortName(failed.uri)})` : ''}`;
  if (a.signed === false)
    return a.coverage === 'index-unsigned'
      ? 'unsigned: listed only by checksum files nobody signed'
      : 'unsigned: no signature on it, inside it, around it or beside it';
  if (a.coverage === 'index-unsigned') return 'listed only by checksum files nobody signed';
  return undefined;
}

export interface CoverageTotals {
  signed: number;
  covered: number;
  /** Artifacts whose class should be signed and that nothing signs (`signed: false`). */
  unsigned: ArtifactResult[];
  indexUnsigned: number;
  hybridSigned: number;
}

export function coverageTotals(result: ScanResult): CoverageTotals {
  const t: CoverageTotals = { signed: 0, covered: 0, unsigned: [], indexUnsigned: 0, hybridSigned: 0 };
  for (const a of result.artifacts) {
    if (a.coverage === 'signed') t.signed++;
    else if (a.coverage === 'covered') t.covered++;
    else if (a.coverage === 'index-unsigned') t.indexUnsigned++;
    if (a.signed === false) t.unsigned.push(a);
    if (a.migration === 'hybrid-signed') t.hybridSigned++;
  }
  return t;
}

/** Artifacts that are signatures, checksum lists or model signatures of others in the scan: shown with what they sign. */
export function isSignatureOfOthers(a: ArtifactResult): boolean {
  return (a.signs?.length ?? 0) > 0;
}

/** Retired artifacts this scan still found (`shelflife retire`), one group per digest: the headline of human reports. */
export function retiredInScan(result: ScanResult): RetiredPresent[] {
  return retiredPresent(result.artifacts);
}
export type { RetiredPresent };
