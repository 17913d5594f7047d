/**
 * Exposures carried over from an earlier scan. Scoring is a pure function of an artifact's findings, the whole-scan
 * facts it reads (copies, confirmed carved keys, signatures covering it, its container's class) and the scoring
 * context (rules, timeline, policies, config, the clock's tick). A top-level artifact whose record an incremental scan
 * carried over (src/inventory/inventory.ts `carryOver`), members included, takes the exposures its last scan stored
 * for it when the key of those inputs is the one they were computed under, instead of being scored again; the answer
 * is the same by construction. Anything the key cannot vouch for (signatures linked to or from the artifact, whose
 * scores read other artifacts) is scored again.
 * @module
 */
import { createHash } from 'node:crypto';
import type { ArtifactResult, Exposure } from '../model.js';

/** What scoring decided for one artifact that its stored record does not hold: the inputs behind each exposure. */
export interface StoredInputs {
  /** The artifact's exposure inputs, then each finding's, in finding order. */
  artifact?: Record<string, unknown>;
  findings: (Record<string, unknown> | undefined)[];
}

/** The scoring of one top-level artifact and its members as the inventory stored it: its key and each one's inputs. */
export interface StoredScoring {
  key: string;
  /** By artifact URI (read only when the key matches). */
  inputs(): Record<string, StoredInputs>;
}

/**
 * Between an incremental scan's carry-over and its scoring: what the last scan decided for the carried records (taken
 * off them when they were carried over) and what it stored; filled in by scoring with each group's key and whether
 * it was taken over.
 */
export interface ScoringReuse {
  /** The stored scoring of a carried-over top-level URI (its records carried over from the scan that stored it). */
  previous(top: string): StoredScoring | undefined;
  /** The fields scoring set on a carried record in its last scan, taken off it by `takeScored`. */
  scoredBefore(a: ArtifactResult): ScoredFields | undefined;
  /** Set by scoring: every top-level group's key, and whether its exposures were carried over. */
  keys: Map<string, { key: string; reused: boolean }>;
}

/** The fields scoring sets on an artifact (src/scoring/index.ts scoreArtifact and decideSigned). */
export interface ScoredFields {
  class?: string;
  lifetime?: ArtifactResult['lifetime'];
  created?: ArtifactResult['created'];
  exposure?: Exposure;
  findings: (Exposure | undefined)[];
  signed?: boolean;
  coverage?: ArtifactResult['coverage'];
}

/** The scoring-derived fields of a record, as a carried-over record holds them before they are cleared. */
export function scoredFields(a: ArtifactResult): ScoredFields {
  return {
    ...(a.class !== undefined ? { class: a.class } : {}),
    ...(a.lifetime !== undefined ? { lifetime: a.lifetime } : {}),
    ...(a.created !== undefined ? { created: a.created } : {}),
    ...(a.exposure !== undefined ? { exposure: a.exposure } : {}),
    findings: a.findings.map((f) => f.exposure),
    ...(a.signed !== undefined ? { signed: a.signed } : {}),
    ...(a.coverage !== undefined ? { coverage: a.coverage } : {}),
  };
}

/** An exposure with its inputs back in the place scoring puts them (after the explanation). */
function withInputs(e: Exposure, inputs: Record<string, unknown> | undefined): Exposure {
  const { score, severity, explanation, inputs: _stripped, ...rest } = e;
  return { score, severity, explanation, ...(inputs !== undefined ? { inputs } : {}), ...rest };
}

/**
 * Put back what scoring decided last time, in the order scoring sets it (class, lifetime, created, the findings'
 * exposures, the artifact's; then signed and coverage), so the report is the one scoring again would write.
 */
export function restoreScored(a: ArtifactResult, before: ScoredFields, inputs: StoredInputs): void {
  if (before.class !== undefined) a.class = before.class;
  if (before.lifetime !== undefined) a.lifetime = before.lifetime;
  if (before.created !== undefined) a.created = before.created;
  a.findings.forEach((f, i) => {
    const e = before.findings[i];
    if (e) f.exposure = withInputs(e, inputs.findings[i]);
  });
  if (before.exposure) a.exposure = withInputs(before.exposure, inputs.artifact);
  if (a.signed !== true) {
    delete a.signed;
    if (before.signed === false) a.signed = false;
  }
  if (before.coverage !== undefined) a.coverage = before.coverage;
}

/** The inputs behind an artifact's exposures, for the inventory to store beside its record. */
export function inputsOf(a: ArtifactResult): StoredInputs {
  return {
    ...(a.exposure?.inputs ? { artifact: a.exposure.inputs } : {}),
    findings: a.findings.map((f) => f.exposure?.inputs),
  };
}

/**
 * Can this group's scores be carried over at all? Signatures linked to or from an artifact are scored with findings of
 * other artifacts (src/scan/coverage.ts links): such groups are always scored again.
 */
export function reusable(group: readonly ArtifactResult[]): boolean {
  return group.every((a) => !a.signedBy?.length && !a.signs?.length);
}

/**
 * The key of everything scoring reads for one group besides the findings' detected content (which the records carried
 * over from the scan that stored the key fix): the scoring context, then per artifact every field but its findings and
 * what scoring sets, what joining signers may change on a finding (src/scan/signers.ts: algorithm, quantum and details
 * of signatures and certificates), the copies scoring counts and which carved keys the scan confirms.
 */
export function groupKey(context: string, group: readonly ArtifactResult[], copies: (a: ArtifactResult) => number, confirmed: ReadonlySet<string>): string {
  const parts = [context];
  for (const a of group) {
    const { findings, class: _c, lifetime: _l, created: _cr, exposure: _e, ...rest } = a;
    parts.push('\0a', JSON.stringify(rest), `\0${copies(a)}`);
    for (const f of findings) {
      parts.push(f.kind === 'signature' || f.kind === 'certificate' ? `\0j${JSON.stringify([f.algorithm, f.quantum, f.details])}` : '\0f');
      if (f.details?.carved === true) parts.push(f.fingerprint && confirmed.has(f.fingerprint) ? '+' : '-');
    }
  }
  // One digest of the whole text: a hash update per piece costs more than the pieces.
  return createHash('sha256').update(parts.join('')).digest('hex');
}
