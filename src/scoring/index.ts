/**
 * Scoring a scan: classify every artifact, score every finding (src/scoring/exposure.ts), roll findings up to the
 * artifact (the worst one), and say when an artifact that should be signed is not. Fills the JSON contract's `class`,
 * `lifetime`, `created`, `signed` and `exposure` fields in place.
 * @module
 */
import { ShelflifeError, UsageError } from '../errors.js';
import type { ArtifactResult, Exposure, Finding, ScanResult, Severity, SignatureLink } from '../model.js';
import { findingOnSubject, SEVERITIES, topUri } from '../model.js';
import { classifyArtifact, type Classification, type TargetOverride } from './classify.js';
import { scoreFinding, type FindingExposure, type FindingScoringInput } from './exposure.js';
import { bundledScoringRules, loadPolicy, type ClassParams, type Lifetimes, type Policy, type ScoringRules, type TimelineEntry } from './rules.js';
import { selectTimeline, yearFraction, type Timeline } from './timeline.js';
import { groupKey, restoreScored, reusable, type ScoringReuse } from './reuse.js';
import { createHash } from 'node:crypto';
import { VERSION } from '../version.js';

export {
  scoreFinding,
  severityOf,
  exposureUse,
  missedDeadlines,
  policyMatches,
  SEVERITY_BANDS,
  type FindingScoringInput,
  type FindingExposure,
  type MissedDeadline,
} from './exposure.js';
export { classifyArtifact, creationEvidence, locationPath, type Classification } from './classify.js';
export { fixedYearTimeline, selectTimeline, timelineFrom, yearFraction } from './timeline.js';
export { bundledScoringRules, loadLifetimes, loadPolicies, loadPolicy, loadTimelines, parseDuration } from './rules.js';

/** Policies applied when none is chosen (the classical-weakness policy is `always` and applies regardless). */
export const DEFAULT_POLICIES = ['nist-ir-8547'];

/**
 * What scoring takes from a configuration (shelflife.config.yaml, read by src/config.ts, whose `ShelflifeConfig` is
 * one): defaults, user timelines and policies, class parameter overrides and per-target overrides. Scoring defines
 * what it needs and the config module fills it in, so scoring never imports the config module.
 */
export interface ScoringConfig {
  /** The file it came from, for messages. */
  file?: string;
  /** Relative target globs are resolved against this directory (the config file's). */
  baseDir: string;
  timeline?: string;
  crqcYear?: number;
  policies?: string[];
  /** Extra policy files (same schema as rules/policies/*.yaml), absolute paths. */
  policyFiles: string[];
  timelines: Record<string, TimelineEntry>;
  classes: Record<string, Partial<ClassParams>>;
  targets: TargetOverride[];
}

export interface ScoringOptions {
  /** The clock (`--now`). */
  now?: Date;
  /** `--timeline <name>`: a bundled or config timeline. */
  timeline?: string;
  /** `--crqc-year N`: a fixed-year scenario. */
  crqcYear?: number;
  /** `--policy <name>` (repeatable): replaces the defaults. */
  policies?: string[];
  config?: ScoringConfig;
  /** Rules to use instead of the bundled ones (tests). */
  rules?: ScoringRules;
  /** Known copies of an artifact beyond this scan (the inventory), by sha256. */
  copies?: (sha256: string) => number | undefined;
}

export interface ScoringSetup {
  /** The scoring clock: the scan's start as a fractional year, raised to the end of its tick (SCORING_TICK). */
  now: number;
  nowDate: Date;
  timeline: Timeline;
  policies: Policy[];
  lifetimes: Lifetimes;
  config?: ScoringConfig;
  /**
   * What every score of this setup depends on besides the artifacts (tool version, class rules, timelines, policies,
   * config, the clock's tick), as a digest: scores stored under the same one can be carried over (src/scoring/reuse.ts).
   */
  context?: string;
}

/**
 * The scoring clock's tick, in years (about 53 minutes): scores are as of the end of the tick the scan started in, so
 * two scans in one tick score alike and an unchanged rescan may carry its exposures over (src/scoring/reuse.ts). The
 * inputs show the clock to this precision (`now`, 4 decimals); at the end of the tick, a certificate that expires in
 * the next hour already counts as expired, and a file written moments before the scan is never "in the future".
 */
export const SCORING_TICK = 1e-4;

function scoringClock(d: Date): number {
  const t = yearFraction(d);
  // A start exactly on a tick (midnight on 1 January, a `--now` date) is its own end; the epsilon absorbs the float.
  return Math.ceil(t / SCORING_TICK - 1e-6) * SCORING_TICK;
}

/** Check the class names a config refers to against the class table; errors name the config file. */
export function checkConfigClasses(config: ScoringConfig, classes: Record<string, unknown>): void {
  const where = config.file ?? 'shelflife.config.yaml';
  const known = () => Object.keys(classes).join(', ');
  for (const c of Object.keys(config.classes)) {
    if (!Object.prototype.hasOwnProperty.call(classes, c))
      throw new ShelflifeError('config', `classes.${c}: unknown class (known: ${known()})`, { uri: where });
  }
  config.targets.forEach((t, i) => {
    if (t.class && !Object.prototype.hasOwnProperty.call(classes, t.class))
      throw new ShelflifeError('config', `targets[${i}].class: unknown class "${t.class}" (known: ${known()})`, { uri: where });
  });
}

/** Resolve options + config + rules into what scoring needs; usage errors name the flag or file. */
export function prepareScoring(options: ScoringOptions = {}): ScoringSetup {
  const rules = options.rules ?? bundledScoringRules();
  const config = options.config;
  if (config) checkConfigClasses(config, rules.lifetimes.classes);
  const nowDate = options.now ?? new Date();
  if (!Number.isFinite(nowDate.getTime())) throw new UsageError('--now: not a valid date');
  const crqcYear = options.crqcYear ?? (options.timeline ? undefined : config?.crqcYear);
  const name = options.timeline ?? (crqcYear === undefined ? config?.timeline : undefined);
  const timeline = selectTimeline([rules.timelines.timelines, config?.timelines ?? {}], {
    ...(name ? { name } : {}),
    ...(crqcYear !== undefined ? { crqcYear } : {}),
    defaultName: rules.timelines.default,
  });
  const available = new Map(rules.policies);
  for (const f of config?.policyFiles ?? []) {
    const p = loadPolicy(f);
    available.set(p.name, p);
  }
  const chosen = options.policies?.length ? options.policies : (config?.policies ?? DEFAULT_POLICIES);
  const policies: Policy[] = [];
  for (const name of chosen) {
    const p = available.get(name);
    if (!p) throw new UsageError(`unknown policy "${name}" (known: ${[...available.keys()].sort().join(', ')})`);
    if (!policies.includes(p)) policies.push(p);
  }
  for (const p of available.values()) if (p.always && !policies.includes(p)) policies.push(p);
  const now = scoringClock(nowDate);
  const context = createHash('sha256')
    .update(
      JSON.stringify({
        tool: VERSION,
        now,
        timeline: { name, crqcYear, default: rules.timelines.default, bundled: rules.timelines.timelines, config: config?.timelines ?? {} },
        policies,
        lifetimes: rules.lifetimes,
        config: config ?? null,
      }),
    )
    .digest('hex');
  return { now, nowDate, timeline, policies, lifetimes: rules.lifetimes, ...(config ? { config } : {}), context };
}

const vouches = (f: Finding) => f.kind === 'signature' || f.kind === 'certificate';

/**
 * Score a whole scan in place; returns it for chaining. With `reuse` (an incremental scan's inventory), every top-level
 * artifact's scoring key is computed, and a carried-over group whose key is the one its stored exposures were computed
 * under takes them (src/scoring/reuse.ts) instead of being scored again.
 */
export function scoreScan(
  result: ScanResult,
  options: ScoringOptions = {},
  setup: ScoringSetup = prepareScoring(options),
  classifications?: Map<string, Classification>,
  reuse?: ScoringReuse,
): ScanResult {
  const byUri = new Map(result.artifacts.map((a) => [a.uri, a]));
  const copies = new Map<string, number>();
  for (const a of result.artifacts) if (a.sha256) copies.set(a.sha256, (copies.get(a.sha256) ?? 0) + 1);
  // Parents before members, so a member no rule matches can take its container's class.
  const order = [...result.artifacts].sort((x, y) => depth(x.uri) - depth(y.uri));
  const classes = classifications ?? new Map<string, Classification>();
  // A signature file (or a checksum list, a model signature) is scored as part of what it signs: it takes that
  // artifact's class and lifetime once that is known, so signers wait for their subjects (docs/coverage.md).
  const waiting = order.filter((a) => a.signs?.length);
  const signing = new Set(waiting.map((a) => a.uri));
  const linksOf = (a: ArtifactResult) => linkFindings(a, byUri);
  const confirmedKeys = confirmedFingerprints(result.artifacts);
  // Many artifacts carry the same finding under the same class parameters (a certificate copied into a hundred
  // places): each distinct scoring input is scored once per scan.
  const memo = new ExposureMemo();
  const carried = reuse && setup.context ? carryScores(result.artifacts, setup.context, reuse, (a) => copiesOf(a, copies, options), confirmedKeys) : new Set();
  for (const a of order) {
    if (carried.has(a)) continue;
    if (signing.has(a.uri)) continue;
    const parent = a.parent ? classes.get(a.parent) : undefined;
    classes.set(a.uri, scoreArtifact(a, parent, setup, copiesOf(a, copies, options), undefined, linksOf(a), confirmedKeys, memo));
  }
  for (let round = 0; round < 8 && waiting.length; round++) {
    for (let i = 0; i < waiting.length; i++) {
      const a = waiting[i];
      const subjects = a.signs!.map((u) => classes.get(u)).filter((c): c is Classification => !!c);
      // Last round: whatever is still waiting (a cycle of lists signing each other) goes with what is known.
      if (subjects.length < a.signs!.filter((u) => byUri.has(u)).length && round < 7) continue;
      const parent = a.parent ? classes.get(a.parent) : undefined;
      const as = longestLived(subjects);
      const signed = as ? a.signs!.find((u) => classes.get(u) === as) : undefined;
      classes.set(
        a.uri,
        scoreArtifact(a, parent, setup, copiesOf(a, copies, options), as && signed ? { c: as, uri: signed } : undefined, linksOf(a), confirmedKeys, memo),
      );
      waiting.splice(i--, 1);
    }
  }
  // Artifacts with a signature or certificate somewhere inside them (members report on their own artifact).
  const vouchedBelow = new Set<string>();
  for (const a of result.artifacts) {
    if (!a.findings.some(vouches)) continue;
    for (let p = a.parent, hops = 0; p && hops < 64 && !vouchedBelow.has(p); p = byUri.get(p)?.parent ?? null, hops++) vouchedBelow.add(p);
  }
  for (const a of result.artifacts) if (!carried.has(a)) decideSigned(a, classes.get(a.uri)!, byUri, vouchedBelow);
  return result;
}

/**
 * Every group's scoring key into `reuse.keys`; the scores of carried-over groups whose key is unchanged put back.
 * Returns the artifacts that took their scores over (scoring leaves them alone).
 */
function carryScores(
  artifacts: readonly ArtifactResult[],
  context: string,
  reuse: ScoringReuse,
  copies: (a: ArtifactResult) => number,
  confirmed: ReadonlySet<string>,
): Set<ArtifactResult> {
  const groups = new Map<string, ArtifactResult[]>();
  for (const a of artifacts) {
    const top = topUri(a.uri);
    const g = groups.get(top);
    if (g) g.push(a);
    else groups.set(top, [a]);
  }
  const carried = new Set<ArtifactResult>();
  for (const [top, group] of groups) {
    if (!reusable(group)) continue;
    const key = groupKey(context, group, copies, confirmed);
    const stored = reuse.previous(top);
    const before = stored?.key === key ? group.map((a) => reuse.scoredBefore(a)) : [];
    const inputs = before.length === group.length && before.every((b) => b !== undefined) ? stored!.inputs() : undefined;
    const reused = !!inputs && group.every((a) => inputs[a.uri] !== undefined);
    reuse.keys.set(top, { key, reused });
    if (!reused) continue;
    group.forEach((a, i) => {
      restoreScored(a, before[i]!, inputs[a.uri]);
      carried.add(a);
    });
  }
  return carried;
}

/** Fingerprints that a parser found (not a carver): a carved key with one of them is confirmed, no longer a lead. */
function confirmedFingerprints(artifacts: readonly ArtifactResult[]): Set<string> {
  const out = new Set<string>();
  for (const a of artifacts) for (const f of a.findings) if (f.fingerprint && f.details?.carved !== true) out.add(f.fingerprint);
  return out;
}

function depth(uri: string): number {
  let n = 0;
  for (let i = uri.indexOf('!/'); i >= 0; i = uri.indexOf('!/', i + 2)) n++;
  return n;
}

function copiesOf(a: ArtifactResult, inScan: Map<string, number>, options: ScoringOptions): number {
  if (!a.sha256) return 1;
  const known = options.copies?.(a.sha256);
  // `a.copies` is the inventory's count across every store and scan (src/inventory annotate()), when it ran first.
  const inventory = Number.isInteger(a.copies) && a.copies! > 0 ? Math.min(a.copies!, 1_000_000) : 0;
  return Math.max(1, inScan.get(a.sha256) ?? 1, known ?? 0, inventory);
}

/** The subject whose trust lasts longest: a signature over several artifacts must hold as long as the last of them. */
function longestLived(cs: Classification[]): Classification | undefined {
  let best: Classification | undefined;
  for (const c of cs) if (!best || c.created.year + c.params.lifetime > best.created.year + best.params.lifetime) best = c;
  return best;
}

/** A signature link with the finding it points at (for a list's weakest hash, the finding with that hash). */
export interface LinkedFinding {
  link: SignatureLink;
  finding: Finding;
}

/** Resolve an artifact's `signedBy` links to their findings (on the signature artifact, or on itself when attached). */
export function linkFindings(a: ArtifactResult, byUri: Map<string, ArtifactResult>): LinkedFinding[] {
  const out: LinkedFinding[] = [];
  for (const link of a.signedBy ?? []) {
    const holder = findingOnSubject(link) ? a : byUri.get(link.uri);
    const f = holder?.findings[link.finding];
    if (!f) continue;
    // The weakest hash on the way (a checksum list's MD5 or SHA-1) replaces a stronger signature hash: policies on
    // collision-broken hashes then apply to the artifact, as for release stores (src/scan/vouching.ts).
    out.push({ link, finding: link.hash ? { ...f, algorithm: { ...f.algorithm, hash: link.hash } } : f });
  }
  return out;
}

/**
 * Finding exposures of one scoring run, by everything `scoreFinding` reads: the finding as detected (every field but
 * its exposure) and the artifact's class parameters, copies, creation time and lead flag. The clock, timeline and
 * policies are the run's (one `ScoringSetup`), so equal keys are equal inputs and give the same exposure. Each caller
 * gets its own copy: an exposure is data on its finding, never shared between two.
 */
export class ExposureMemo {
  private readonly done = new Map<string, FindingExposure>();
  private setup?: { timeline: unknown; policies: unknown; now: number };

  score(input: FindingScoringInput): FindingExposure {
    // One memo serves one clock, timeline and policy set; another setup starts it afresh.
    if (!this.setup || this.setup.timeline !== input.timeline || this.setup.policies !== input.policies || this.setup.now !== input.now) {
      this.done.clear();
      this.setup = { timeline: input.timeline, policies: input.policies, now: input.now };
    }
    const key = [
      input.artifactClass,
      input.lifetime,
      input.secrecy,
      input.migration,
      input.harvest,
      input.copies,
      input.created,
      input.lifetimeStated === true,
      input.lead === true,
      findingText(input.finding),
    ].join('\0');
    let e = this.done.get(key);
    if (!e) {
      e = scoreFinding(input);
      this.done.set(key, e);
    }
    return copyExposure(e);
  }
}

/** The finding as detected: every field but the exposure a previous scoring left on it. */
function findingText(f: Finding): string {
  if (f.exposure === undefined) return JSON.stringify(f);
  const { exposure: _, ...detected } = f;
  return JSON.stringify(detected);
}

function copyExposure(e: FindingExposure): FindingExposure {
  return { ...e, inputs: copyInputs(e.inputs), deadlinesMissed: [...e.deadlinesMissed] };
}

/** The inputs are flat values and arrays of strings (src/scoring/exposure.ts): copied one level down. */
function copyInputs(inputs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inputs)) out[k] = Array.isArray(v) ? [...(v as unknown[])] : v;
  return out;
}

/**
 * Classify one artifact and score its findings in place. `as`: the classification of what it signs (a signature
 * file is scored with its subject's class and lifetime). `links`: the signatures covering it, scored as its own
 * protection (their exposure lands on what they sign). A carved key is a lead unless
 * `confirmedKeys` (fingerprints parsers found elsewhere in the scan) holds its fingerprint.
 */
export function scoreArtifact(
  a: ArtifactResult,
  parent: Classification | undefined,
  setup: ScoringSetup,
  copies = 1,
  as?: { c: Classification; uri: string },
  links: LinkedFinding[] = [],
  confirmedKeys: ReadonlySet<string> = new Set(),
  memo?: ExposureMemo,
): Classification {
  let c = classifyArtifact(a, parent, {
    lifetimes: setup.lifetimes,
    now: setup.now,
    ...(setup.config ? { classOverrides: setup.config.classes, targets: setup.config.targets, baseDir: setup.config.baseDir } : {}),
  });
  if (as && !c.classSource.startsWith('config:') && !c.classSource.startsWith('annotation:'))
    c = { ...as.c, classSource: `signs:${as.uri}`, params: { ...as.c.params, signed: false }, copiesOverride: c.copiesOverride };
  a.class = c.class;
  a.lifetime = c.lifetime;
  a.created = { at: c.created.at, source: c.created.source };
  const nCopies = c.copiesOverride?.copies ?? copies;
  const score = (f: Finding) => (memo ? memo.score(input(f)) : scoreFinding(input(f)));
  const input = (f: Finding): FindingScoringInput => ({
    finding: f,
    artifactClass: c.class,
    lifetime: c.params.lifetime,
    secrecy: c.params.secrecy,
    migration: c.params.migration,
    harvest: c.params.harvest,
    copies: nCopies,
    created: c.created.year,
    lifetimeStated: c.lifetimeStated,
    now: setup.now,
    timeline: setup.timeline,
    policies: setup.policies,
    lead: f.details?.carved === true && !(f.fingerprint && confirmedKeys.has(f.fingerprint)),
  });
  for (const f of a.findings) f.exposure = score(f);
  for (const l of links) {
    const e = score(l.finding);
    l.link.exposure = {
      score: e.score,
      severity: e.severity,
      explanation: e.explanation,
      ...(e.deadlinesMissed.length ? { deadlinesMissed: e.deadlinesMissed } : {}),
    };
  }
  a.exposure = rollUp(a, c, links);
  return c;
}

const SUPERSEDED_KINDS = new Set<Finding['kind']>(['signature', 'certificate']);
const postQuantum = (l: SignatureLink) => l.verification === 'verified' && (l.quantum === 'hybrid' || l.quantum === 'resistant');

/**
 * The artifact's exposure: its worst finding's, or the worst signature covering it (highest score; ties: first
 * found). Once a verified hybrid or post-quantum signature covers it (`migration: hybrid-signed`), its classical
 * signatures (own or beside it) no longer decide: relying parties that moved verify the hybrid one.
 */
function rollUp(a: ArtifactResult, c: Classification, links: LinkedFinding[]): Exposure {
  const migrated = links.some((l) => postQuantum(l.link));
  let worst: { e: Exposure; from: string; index?: number } | undefined;
  const consider = (e: Exposure | undefined, from: string, index?: number) => {
    if (e && (!worst || e.score > worst.e.score)) worst = { e, from, ...(index !== undefined ? { index } : {}) };
  };
  a.findings.forEach((f, i) => {
    if (!(migrated && SUPERSEDED_KINDS.has(f.kind))) consider(f.exposure, 'finding', i);
  });
  for (const l of links) if (!migrated || postQuantum(l.link)) consider(l.link.exposure, l.link.uri);
  if (!worst) {
    return {
      score: 0,
      severity: 'none',
      explanation: `No signatures, certificates, keys or encrypted data found on this ${c.class}.`,
      inputs: { class: c.class, findings: 0 },
    };
  }
  const w: Exposure = worst.e;
  let explanation = w.explanation;
  const link = links.find((l) => l.link.uri === worst!.from && l.link.exposure === w)?.link;
  if (link) explanation = `${coverageWords(link)}: ${w.explanation}`;
  if (migrated) {
    const classical = [
      ...new Set(
        [
          ...a.findings.filter((f) => f.kind === 'signature' && !['hybrid', 'resistant'].includes(f.quantum.status)),
          ...links.filter((l) => !postQuantum(l.link)).map((l) => l.finding),
        ].map((f) => f.algorithm.id),
      ),
    ];
    if (classical.length)
      explanation += ` Its ${classical.join(', ')} signature${classical.length > 1 ? 's remain' : ' remains'} for verifiers that have not moved to the hybrid one; retire ${classical.length > 1 ? 'them' : 'it'} once they have.`;
  }
  const deadlines = new Set([...a.findings.flatMap((f) => f.exposure?.deadlinesMissed ?? []), ...links.flatMap((l) => l.link.exposure?.deadlinesMissed ?? [])]);
  return {
    score: w.score,
    severity: w.severity,
    explanation,
    inputs: {
      class: c.class,
      findings: a.findings.length,
      ...(worst.index !== undefined ? { worstFinding: worst.index } : { worstSignature: worst.from }),
      ...(links.length ? { signatures: links.length } : {}),
      ...(migrated ? { migration: 'hybrid-signed' } : {}),
    },
    ...(w.deadlinesMissed?.length ? { deadlinesMissed: [...deadlines] } : {}),
  };
}

/** "Signed by fw.bin.asc", "Covered by SHA256SUMS (signed by SHA256SUMS.asc)", "Covered by model.sig". */
export function coverageWords(l: SignatureLink): string {
  const name = (u: string) => decodeURIComponent(u.replace(/[?#].*$/, '').replace(/^.*[/!]/, '')) || u;
  if (l.via === 'checksum' && l.index) return `Covered by ${name(l.index)} (signed by ${name(l.uri)})`;
  if (l.via === 'index' && l.index) return `Covered by ${name(l.index)} (signed by ${name(l.uri)})`;
  if (l.via === 'model' || l.via === 'index') return `Covered by ${name(l.uri)}`;
  return `Signed by ${name(l.uri)}`;
}

/**
 * `signed: false` is set when (1) the class expects a signature (`signed: true` in lifetimes.yaml, or a config
 * override), (2) the class was decided for this artifact itself, not inherited from its container, (3) its bytes were
 * read (sha256 known), and (4) no signature covers it (`signedBy`: a signature beside it, a signed checksum list or
 * model signature naming its digest, an attached signature; src/scan/coverage.ts) and no signature or certificate
 * finding is on the artifact, on any member inside it, on any container around it or another member of such a
 * container. Its `coverage` then says `unsigned` (or `index-unsigned` when only unsigned lists name it).
 */
function decideSigned(a: ArtifactResult, c: Classification, byUri: Map<string, ArtifactResult>, vouchedBelow: Set<string>): void {
  // A source that saw the signature itself (an OCI registry's referrers and signature tags) says `signed: true`;
  // scoring never sets true, only false, so keeping a true and deciding a false afresh stays idempotent.
  if (a.signed === true) return;
  delete a.signed; // scoring again (after the inventory annotated copies) must give the same answer
  if (!c.params.signed || !a.sha256) return;
  if (a.signedBy?.length || a.findings.some(vouches) || vouchedBelow.has(a.uri)) {
    // Its own signature (an Authenticode, kernel-module or RPM signature inside it) signs it.
    if (!a.coverage && a.findings.some((f) => f.kind === 'signature')) a.coverage = 'signed';
    return;
  }
  // A container that is signed (by its own findings or a member's, e.g. a JAR's META-INF/*.RSA) covers its members.
  for (let p = a.parent, hops = 0; p && hops < 64; p = byUri.get(p)?.parent ?? null, hops++)
    if (vouchedBelow.has(p) || byUri.get(p)?.findings.some(vouches) || byUri.get(p)?.signedBy?.length) return;
  a.signed = false;
  a.coverage ??= 'unsigned';
  if (a.exposure && a.findings.length === 0) {
    a.exposure.explanation = `No signature found on this ${c.class}: nothing to forge, but nothing proves where it came from. Sign it with ML-DSA-65+ECDSA-P256.`;
  }
}

/** Is any finding (or artifact) at or above `severity`? For `--fail-on`. */
export function reaches(result: ScanResult, severity: Severity): boolean {
  const min = SEVERITIES.indexOf(severity);
  return result.artifacts.some((a) => a.findings.some((f) => f.exposure !== undefined && SEVERITIES.indexOf(f.exposure.severity) >= min));
}
