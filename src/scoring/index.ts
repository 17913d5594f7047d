/**
 * Scoring a scan: classify every artifact, score every finding (src/scoring/exposure.ts), roll findings up to the
 * artifact (the worst one), and say when an artifact that should be signed is not. Fills the JSON contract's `class`,
 * `lifetime`, `created`, `signed` and `exposure` fields in place.
 * @module
 */
import { ShelflifeError, UsageError } from '../errors.js';
import type { ArtifactResult, Exposure, Finding, ScanResult, Severity } from '../model.js';
import { SEVERITIES } from '../model.js';
import { classifyArtifact, type Classification, type TargetOverride } from './classify.js';
import { scoreFinding } from './exposure.js';
import { bundledScoringRules, loadPolicy, type ClassParams, type Lifetimes, type Policy, type ScoringRules, type TimelineEntry } from './rules.js';
import { selectTimeline, yearFraction, type Timeline } from './timeline.js';

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
  now: number;
  nowDate: Date;
  timeline: Timeline;
  policies: Policy[];
  lifetimes: Lifetimes;
  config?: ScoringConfig;
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
  return { now: yearFraction(nowDate), nowDate, timeline, policies, lifetimes: rules.lifetimes, ...(config ? { config } : {}) };
}

/** Detached signature files that vouch for `<artifact>` when they sit beside it (`fw.bin.sig`, `app.tar.gz.asc` …). */
export const DETACHED_SIGNATURE_SUFFIXES = ['.sig', '.asc', '.p7s', '.sign', '.minisig', '.sigstore', '.sigstore.json', '.bundle', '.cosign.bundle'];

const vouches = (f: Finding) => f.kind === 'signature' || f.kind === 'certificate';

/** Score a whole scan in place; returns it for chaining. */
export function scoreScan(
  result: ScanResult,
  options: ScoringOptions = {},
  setup: ScoringSetup = prepareScoring(options),
  classifications?: Map<string, Classification>,
): ScanResult {
  const byUri = new Map(result.artifacts.map((a) => [a.uri, a]));
  const copies = new Map<string, number>();
  for (const a of result.artifacts) if (a.sha256) copies.set(a.sha256, (copies.get(a.sha256) ?? 0) + 1);
  // Parents before members, so a member no rule matches can take its container's class.
  const order = [...result.artifacts].sort((x, y) => depth(x.uri) - depth(y.uri));
  const classes = classifications ?? new Map<string, Classification>();
  for (const a of order) {
    const parent = a.parent ? classes.get(a.parent) : undefined;
    const c = scoreArtifact(a, parent, setup, copiesOf(a, copies, options));
    classes.set(a.uri, c);
  }
  // Artifacts with a signature or certificate somewhere inside them (members report on their own artifact).
  const vouchedBelow = new Set<string>();
  for (const a of result.artifacts) {
    if (!a.findings.some(vouches)) continue;
    for (let p = a.parent, hops = 0; p && hops < 64 && !vouchedBelow.has(p); p = byUri.get(p)?.parent ?? null, hops++) vouchedBelow.add(p);
  }
  for (const a of result.artifacts) decideSigned(a, classes.get(a.uri)!, byUri, vouchedBelow);
  return result;
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

/** Classify one artifact and score its findings in place. */
export function scoreArtifact(a: ArtifactResult, parent: Classification | undefined, setup: ScoringSetup, copies = 1): Classification {
  const c = classifyArtifact(a, parent, {
    lifetimes: setup.lifetimes,
    now: setup.now,
    ...(setup.config ? { classOverrides: setup.config.classes, targets: setup.config.targets, baseDir: setup.config.baseDir } : {}),
  });
  a.class = c.class;
  a.lifetime = c.lifetime;
  a.created = { at: c.created.at, source: c.created.source };
  const nCopies = c.copiesOverride?.copies ?? copies;
  for (const f of a.findings) {
    f.exposure = scoreFinding({
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
    });
  }
  a.exposure = rollUp(a, c);
  return c;
}

/** The artifact's exposure is its worst finding's (highest score; ties: first found). */
function rollUp(a: ArtifactResult, c: Classification): Exposure {
  let worst: Finding | undefined;
  for (const f of a.findings) if (f.exposure && (!worst || f.exposure.score > worst.exposure!.score)) worst = f;
  if (!worst) {
    return {
      score: 0,
      severity: 'none',
      explanation: `No signatures, certificates, keys or encrypted data found on this ${c.class}.`,
      inputs: { class: c.class, findings: 0 },
    };
  }
  const w = worst.exposure!;
  return {
    score: w.score,
    severity: w.severity,
    explanation: w.explanation,
    inputs: { class: c.class, findings: a.findings.length, worstFinding: a.findings.indexOf(worst) },
    ...(w.deadlinesMissed?.length ? { deadlinesMissed: [...new Set(a.findings.flatMap((f) => f.exposure?.deadlinesMissed ?? []))] } : {}),
  };
}

/**
 * `signed: false` is set when (1) the class expects a signature (`signed: true` in lifetimes.yaml, or a config
 * override), (2) the class was decided for this artifact itself, not inherited from its container, (3) its bytes were
 * read (sha256 known), and (4) no signature or certificate finding is on the artifact, on any member inside it, on any
 * container around it or another member of such a container, or on a detached signature file beside it
 * (DETACHED_SIGNATURE_SUFFIXES).
 */
function decideSigned(a: ArtifactResult, c: Classification, byUri: Map<string, ArtifactResult>, vouchedBelow: Set<string>): void {
  // A source that saw the signature itself (an OCI registry's referrers and signature tags) says `signed: true`;
  // scoring never sets true, only false, so keeping a true and deciding a false afresh stays idempotent.
  if (a.signed === true) return;
  delete a.signed; // scoring again (after the inventory annotated copies) must give the same answer
  if (!c.params.signed || !a.sha256) return;
  if (a.findings.some(vouches) || vouchedBelow.has(a.uri)) return;
  // A container that is signed (by its own findings or a member's, e.g. a JAR's META-INF/*.RSA) covers its members.
  for (let p = a.parent, hops = 0; p && hops < 64; p = byUri.get(p)?.parent ?? null, hops++)
    if (vouchedBelow.has(p) || byUri.get(p)?.findings.some(vouches)) return;
  for (const s of DETACHED_SIGNATURE_SUFFIXES) if (byUri.get(a.uri + s)?.findings.some(vouches)) return;
  a.signed = false;
  if (a.exposure && a.findings.length === 0) {
    a.exposure.explanation = `No signature found on this ${c.class}: nothing to forge, but nothing proves where it came from. Sign it with ML-DSA-65+ECDSA-P256.`;
  }
}

/** Is any finding (or artifact) at or above `severity`? For `--fail-on`. */
export function reaches(result: ScanResult, severity: Severity): boolean {
  const min = SEVERITIES.indexOf(severity);
  return result.artifacts.some((a) => a.findings.some((f) => f.exposure !== undefined && SEVERITIES.indexOf(f.exposure.severity) >= min));
}
