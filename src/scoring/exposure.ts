/**
 * Exposure of one finding: Mosca's inequality weighed by a threat timeline, plus the policy deadlines it misses.
 * Pure: every input arrives as an argument (docs/scoring.md is the prose version of this file).
 *
 *  forgery (signatures, certificates, signing keys): the artifact must stay trusted until it retires, and replacing
 *    the signature takes `migration` years; Mosca (shelfLife + migrationTime > timeToCRQC) becomes
 *    p = P(CRQC by now + remainingLifetime + migrationTime).
 *  hndl (encrypted data, key transport/agreement): the ciphertext may already be copied, so the clock starts at
 *    creation: p = P(CRQC by created + secrecy) × P(at least one of `copies` copies was harvested).
 *  score = round(max(100 · p · quantumWeight, highest score of a missed policy deadline)), 0–100.
 * @module
 */
import type { Exposure, Finding, Severity } from '../model.js';
import { globMatch, parseWhen, round } from './classify.js';
import type { Policy, PolicyMatch, PolicyRule } from './rules.js';
import type { Timeline } from './timeline.js';

export type ExposureUse = 'forgery' | 'hndl';

/** Score bands → severity (docs/scoring.md §Severity). */
export const SEVERITY_BANDS: readonly { min: number; severity: Severity }[] = [
  { min: 80, severity: 'critical' },
  { min: 60, severity: 'high' },
  { min: 40, severity: 'medium' },
  { min: 1, severity: 'low' },
  { min: 0, severity: 'none' },
];

export function severityOf(score: number): Severity {
  for (const b of SEVERITY_BANDS) if (score >= b.min) return b.severity;
  return 'none';
}

/** Families whose use is key establishment: a CRQC recovers the session keys of what they protected. */
const KEY_ESTABLISHMENT_FAMILIES = new Set(['DH', 'ECDH', 'XDH', 'ElGamal', 'ML-KEM']);
const KEY_ESTABLISHMENT_ROLES = new Set(['key-transport', 'key-agreement', 'kem']);

export function exposureUse(f: Finding): ExposureUse {
  if (f.kind === 'encrypted-data') return 'hndl';
  if (KEY_ESTABLISHMENT_FAMILIES.has(f.algorithm.family) || f.algorithm.id.startsWith('ML-KEM')) return 'hndl';
  const role = f.details?.role;
  if (typeof role === 'string' && KEY_ESTABLISHMENT_ROLES.has(role)) return 'hndl';
  return 'forgery';
}

/**
 * How much of the timeline's probability applies. Shor breaks `vulnerable` algorithms outright; an `unknown` one is
 * treated as vulnerable until someone identifies it; Grover does not make ≥128-bit symmetric keys practical to
 * search (pq-standards.md §5.4), and `resistant`/`hybrid` hold while their post-quantum part holds.
 */
export const QUANTUM_WEIGHT: Record<Finding['quantum']['status'], number> = { vulnerable: 1, unknown: 1, weakened: 0, resistant: 0, hybrid: 0 };

export interface FindingScoringInput {
  finding: Finding;
  artifactClass: string;
  /** Years. */
  lifetime: number;
  secrecy: number;
  migration: number;
  /** Chance one copy was harvested, 0..1. */
  harvest: number;
  /** Known copies or transfers of the artifact (≥ 1). */
  copies: number;
  /** Fractional years. */
  created: number;
  /**
   * The artifact's own lifetime was stated for it (a `shelflife.lifetime` annotation, a config target) or ended by a
   * retirement: it bounds every finding on the artifact. Otherwise the lifetime is its class's default, and a
   * certificate's notAfter, a fact about that certificate, decides how long the certificate is relied on.
   */
  lifetimeStated?: boolean;
  now: number;
  timeline: Timeline;
  policies: readonly Policy[];
  /**
   * A key carved from raw bytes (`details.carved`) that nothing else in the scan confirms (no key file, certificate or
   * signature with its fingerprint): a lead to check, scored at most {@link LEAD_MAX_SCORE}.
   */
  lead?: boolean;
}

/**
 * The highest score of a lead: the top of `low`. A key found by its byte layout alone may be a real key or bytes that
 * happen to look like one; it must not outrank what a parser verified, nor ask for action "now" before someone
 * confirms it. Once another finding has its fingerprint it is scored like any key.
 */
export const LEAD_MAX_SCORE = 39;

export interface MissedDeadline {
  policy: string;
  rule: string;
  action: PolicyRule['action'];
  after?: number;
  score: number;
  /** `NIST IR 8547: disallows RSA-2048 after 2035`: the form listed in deadlinesMissed. */
  text: string;
  /** The same as a clause of the explanation (`NIST IR 8547 disallows RSA-2048 after 2035`). */
  clause: string;
}

export interface FindingExposure extends Exposure {
  inputs: Record<string, unknown>;
  deadlinesMissed: string[];
}

/**
 * The hash relying parties verify on this finding. A self-signed certificate's own signature is not one: path
 * validation takes a trust anchor as given and verifies no signature on it (RFC 5280 §6.1.1 (d), §6.2), so SHA-1 on a
 * root's self-signature forges nothing. SHA-1 on any other certificate (signed by an issuer) still does.
 */
export function verifiedHash(f: Finding): string | undefined {
  return isSelfSignedCertificate(f) ? undefined : f.algorithm.hash;
}

function isSelfSignedCertificate(f: Finding): boolean {
  return f.kind === 'certificate' && f.details?.selfSigned === true;
}

/** Does a policy rule apply to this finding, used this way, on this class of artifact? All criteria must hold. */
export function policyMatches(m: PolicyMatch, f: Finding, use: ExposureUse, cls: string): boolean {
  if (m.use && !m.use.includes(use)) return false;
  if (m.kinds && !m.kinds.includes(f.kind)) return false;
  if (m.classes && !m.classes.includes(cls)) return false;
  if (m.notClasses && m.notClasses.includes(cls)) return false;
  if (m.status && !m.status.includes(f.quantum.status)) return false;
  if (m.families && !m.families.includes(f.algorithm.family)) return false;
  if (m.ids && !m.ids.includes(f.algorithm.id)) return false;
  if (m.notIds && m.notIds.includes(f.algorithm.id)) return false;
  if (m.names && !(f.algorithm.name && m.names.some((g) => globMatch(g, f.algorithm.name!)))) return false;
  const hash = verifiedHash(f);
  if (m.hashes && !(hash && m.hashes.includes(hash))) return false;
  if (m.maxClassicalBits !== undefined && !(f.quantum.classicalBits !== null && f.quantum.classicalBits <= m.maxClassicalBits)) return false;
  return true;
}

/**
 * Every deadline a finding misses: a rule with `after: Y` is missed when the finding must still be relied on
 * (forgery: in service; hndl: kept secret) on or after 1 January Y+1; a rule without `after` is missed outright.
 */
export function missedDeadlines(f: Finding, use: ExposureUse, cls: string, neededUntil: number, policies: readonly Policy[]): MissedDeadline[] {
  const out: MissedDeadline[] = [];
  for (const p of policies) {
    for (const r of p.rules) {
      if (!policyMatches(r.match, f, use, cls)) continue;
      if (r.after !== undefined && neededUntil < r.after + 1) continue;
      const text = r.text.replaceAll('{alg}', f.algorithm.id).replaceAll('{hash}', f.algorithm.hash ?? 'its hash');
      // Rule texts either continue the policy's name ("disallows …") or stand alone ("RSA-1024 gives …").
      const clause = /^[a-z]/.test(text) ? `${p.short} ${text}` : text;
      out.push({
        policy: p.short,
        rule: r.id,
        action: r.action,
        ...(r.after !== undefined ? { after: r.after } : {}),
        score: r.score,
        text: `${p.short}: ${text}`,
        clause,
      });
    }
  }
  return out;
}

export function scoreFinding(input: FindingScoringInput): FindingExposure {
  const { finding: f, timeline, now } = input;
  const use = exposureUse(f);
  const weight = QUANTUM_WEIGHT[f.quantum.status] ?? 1;
  let p: number;
  let neededUntil: number;
  const inputs: Record<string, unknown> = { use, class: input.artifactClass, status: f.quantum.status, timeline: timeline.name, now: round(now, 4) };
  // The dates the sentence names, unrounded (the inputs keep 4 decimals, a few minutes: enough to land in the month before).
  const exact: Dates = {};
  if (use === 'forgery') {
    let end = input.created + input.lifetime;
    let endSource = 'created + lifetime';
    const notAfter = f.kind === 'certificate' ? parseWhen(f.notAfter) : undefined;
    if (notAfter !== undefined && (notAfter < end || !input.lifetimeStated)) {
      // RFC 5280 §6.1.3 (a)(2): relying parties reject a certificate after notAfter, so its own trust ends there; and
      // until then it is trusted (a trust-store root until it leaves the store, which `retire` records), however long
      // its class's default lifetime counted from notBefore: a root valid until 2028 is not "retired since 2008".
      end = notAfter;
      endSource = 'certificate notAfter';
    }
    const remaining = Math.max(0, end - now);
    const horizon = now + remaining + input.migration;
    p = timeline.probabilityBy(horizon);
    neededUntil = end;
    Object.assign(exact, { end, horizon });
    const median = timeline.yearReaching(0.5);
    Object.assign(inputs, {
      created: round(input.created, 4),
      lifetimeYears: round(input.lifetime, 4),
      inServiceUntil: round(end, 4),
      inServiceUntilSource: endSource,
      remainingYears: round(remaining, 4),
      migrationYears: round(input.migration, 4),
      horizon: round(horizon, 4),
      ...(median !== undefined && Number.isFinite(median)
        ? {
            yearsToCrqc: round(median - now, 4),
            yearsToCrqcMeaning: timeline.crqcYear !== undefined ? 'scenario year' : 'median of the timeline',
            moscaExposed: remaining + input.migration > median - now,
          }
        : {}),
    });
  } else {
    const start = parseWhen(f.created) ?? input.created;
    const secretUntil = start + input.secrecy;
    const pCrqc = timeline.probabilityBy(secretUntil);
    const copies = Math.max(1, Math.floor(input.copies));
    const pHarvest = 1 - (1 - input.harvest) ** copies;
    p = pCrqc * pHarvest;
    neededUntil = secretUntil;
    Object.assign(exact, { created: start, secretUntil });
    Object.assign(inputs, {
      created: round(start, 4),
      createdSource: parseWhen(f.created) !== undefined ? 'finding' : 'artifact',
      secrecyYears: round(input.secrecy, 4),
      secretUntil: round(secretUntil, 4),
      crqcProbability: round(pCrqc, 4),
      harvestChancePerCopy: input.harvest,
      copies,
      harvestProbability: round(pHarvest, 4),
    });
  }
  const deadlines = missedDeadlines(f, use, input.artifactClass, neededUntil, input.policies);
  // What the self-signature's hash would have cost if relying parties verified it: said, not scored.
  const waived = isSelfSignedCertificate(f)
    ? missedDeadlines({ ...f, details: { ...f.details, selfSigned: false } }, use, input.artifactClass, neededUntil, input.policies).filter(
        (d) => !deadlines.some((x) => x.policy === d.policy && x.rule === d.rule),
      )
    : [];
  const quantumScore = 100 * p * weight;
  const policyScore = Math.max(0, ...deadlines.map((d) => d.score));
  const computed = Math.min(100, Math.max(0, Math.round(Math.max(quantumScore, policyScore))));
  const score = input.lead ? Math.min(computed, LEAD_MAX_SCORE) : computed;
  const severity = severityOf(score);
  Object.assign(inputs, {
    probability: round(p, 4),
    quantumWeight: weight,
    quantumScore: round(quantumScore, 2),
    policyScore,
    deadlineRules: deadlines.map((d) => d.rule),
    ...(waived.length ? { waivedRules: waived.map((d) => d.rule) } : {}),
    ...(input.lead ? { lead: true, scoreAsConfirmed: computed } : {}),
  });
  const selfSignatureNote = waived.length
    ? ` Its ${f.algorithm.hash} self-signature is not a forgery exposure: relying parties take a self-signed root as a trust anchor and verify no signature on it (RFC 5280 §6.1.1).`
    : '';
  const leadNote = input.lead
    ? `Carved from raw bytes at offset ${f.location.offset ?? '?'} (${String(f.details?.layout ?? 'raw')} layout): a lead, not a verified key; nothing else in this scan uses it. Confirm that this artifact uses it (a key file, certificate or signature with its fingerprint); confirmed, it scores ${computed}. `
    : '';
  return {
    score,
    severity,
    explanation: leadNote + explain(f, use, input, p, deadlines, severity, inputs, exact) + selfSignatureNote,
    inputs,
    deadlinesMissed: deadlines.map((d) => d.text),
  };
}

const FORMAT_LABEL: Record<string, string> = {
  x509: 'X.509',
  cms: 'CMS',
  openpgp: 'OpenPGP',
  ssh: 'SSH',
  jws: 'JWS',
  jwe: 'JWE',
  jwk: 'JWK',
  sigstore: 'Sigstore',
  dsse: 'DSSE',
  cosign: 'cosign',
  notation: 'Notation',
  authenticode: 'Authenticode',
  kmod: 'kernel-module',
  fit: 'FIT',
  avb: 'AVB',
  apk: 'APK',
  jar: 'JAR',
  age: 'age',
  pkcs8: 'PKCS#8',
  pkcs12: 'PKCS#12',
  zip: 'ZIP',
  pem: 'PEM',
};

/** Fractional years the explanation names. */
interface Dates {
  end?: number;
  horizon?: number;
  created?: number;
  secretUntil?: number;
}

/** `2041` for 1 January, else `2041-06`. */
export function formatWhen(t: number): string {
  const y = Math.floor(t + 1e-9);
  if (t - y < 1e-6) return String(y);
  // Rounded to the minute: a date taken apart into a fractional year and back must not land a moment before itself.
  const ms = Date.UTC(y, 0, 1) + (t - y) * (Date.UTC(y + 1, 0, 1) - Date.UTC(y, 0, 1));
  const d = new Date(Math.round(ms / 60_000) * 60_000);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

function pct(p: number): string {
  return `${Math.round(p * 100)}%`;
}

function years(n: number): string {
  const r = round(n, 1);
  return `${r} year${r === 1 ? '' : 's'}`;
}

/** One sentence a person can act on: what, until when, how likely, which deadline, what to do. */
function explain(
  f: Finding,
  use: ExposureUse,
  input: FindingScoringInput,
  p: number,
  deadlines: MissedDeadline[],
  severity: Severity,
  inputs: Record<string, unknown>,
  exact: Dates,
): string {
  const alg = f.algorithm.id;
  // "X.509 certificate on certificate" says nothing: name the class only when it adds something.
  const sameThing = (input.artifactClass === 'certificate' && f.kind === 'certificate') || (input.artifactClass === 'key-material' && f.kind.endsWith('-key'));
  const what = `${alg} ${FORMAT_LABEL[f.format] ?? f.format} ${f.kind.replace('-', ' ')}${sameThing ? '' : ` on ${input.artifactClass}`}`;
  const cnsa = input.policies.some((x) => x.name === 'cnsa-2.0');
  const worst = [...deadlines].sort((a, b) => b.score - a.score || (a.after ?? 0) - (b.after ?? 0))[0];
  const deadlineText = worst ? `; ${worst.clause}${deadlines.length > 1 ? ` (+${deadlines.length - 1} more)` : ''}` : '';
  const status = f.quantum.status;
  const urgency = severity === 'critical' || severity === 'high' ? 'now' : severity === 'medium' ? `within ${years(input.migration)}` : 'at the next release';
  if (status === 'resistant' || status === 'hybrid' || status === 'weakened') {
    const why =
      status === 'hybrid'
        ? 'is hybrid and holds while its post-quantum part holds'
        : status === 'resistant'
          ? 'resists known quantum attacks'
          : "is only weakened by Grover's search, which does not make 128-bit and longer keys practical to find";
    const fix =
      deadlines.length === 0
        ? 'No quantum action needed.'
        : use === 'hndl'
          ? `Re-encrypt with ${cnsa ? 'ML-KEM-1024 and AES-256' : 'AES-256'} ${urgency}.`
          : `Move to ${cnsa ? 'ML-DSA-87' : 'a stronger signature'} ${urgency}.`;
    return `${what} ${why}${deadlineText}. ${fix}`;
  }
  const unknown = status === 'unknown' ? ' (unidentified algorithm, treated as quantum-vulnerable)' : '';
  if (use === 'forgery') {
    const end = exact.end!;
    const horizon = exact.horizon!;
    const rec = cnsa
      ? ['firmware', 'bootloader', 'software-release'].includes(input.artifactClass)
        ? 'ML-DSA-87 or LMS/XMSS'
        : 'ML-DSA-87'
      : 'ML-DSA-65+ECDSA-P256';
    const verb =
      f.kind === 'signature'
        ? `Re-sign with ${rec}`
        : f.kind === 'certificate'
          ? `Reissue the certificate with an ${rec} key`
          : `Replace the key with ${rec} and re-sign what it signs`;
    const expires = String(inputs.inServiceUntilSource).startsWith('certificate notAfter');
    const service =
      end <= input.now
        ? `${expires ? 'expired' : 'retired'} since ${formatWhen(end)}`
        : expires
          ? `trusted until it expires ${formatWhen(end)}`
          : `expected in service until ${formatWhen(end)}`;
    return `${what}${unknown} ${service}; ${pct(p)} chance a CRQC exists before ${formatWhen(horizon)} (${years(input.migration)} to migrate, ${input.timeline.name})${deadlineText}. ${verb} ${urgency}.`;
  }
  const secretUntil = exact.secretUntil!;
  const rec = cnsa ? 'ML-KEM-1024' : 'ML-KEM-768+X25519';
  const copies = inputs.copies as number;
  return (
    `${what}${unknown} created ${formatWhen(exact.created!)} must stay secret until ${formatWhen(secretUntil)}; ` +
    `${pct(inputs.crqcProbability as number)} chance a CRQC exists by then (${input.timeline.name}) and ${pct(inputs.harvestProbability as number)} that one of ${copies} known cop${copies === 1 ? 'y' : 'ies'} was harvested${deadlineText}. ` +
    `Re-encrypt to ${rec} ${urgency} and rotate the secrets it protects: migration cannot undo a copy already harvested.`
  );
}
