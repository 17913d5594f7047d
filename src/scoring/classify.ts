/**
 * Artifact classes (rules/lifetimes.yaml): which class an artifact belongs to, its lifetime, and when it was created,
 * each with the evidence that decided it. Precedence, strongest first:
 *   class:    per-target config → `shelflife.class` annotation → first matching rule (ordered by what the evidence
 *             says the artifact is: store media type, format, own name, folder, findings; an encrypted file by the
 *             name of what it encrypts) → container's class → default
 *   lifetime: `shelflife.lifetime` annotation → per-target config → class (config `classes:` override, then rule file);
 *             a certificate artifact without a stated lifetime ends at its latest certificate's notAfter, sooner or
 *             later than the class default; a retirement ends any lifetime
 *   created:  `shelflife.created` annotation → signature time → certificate notBefore → OCI `created` annotation
 *             → modification time → assumed now
 * Pure: no I/O, the clock comes in as an argument.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import type { ArtifactResult, Finding } from '../model.js';
import { parseDuration, type ClassParams, type ClassRule, type Lifetimes } from './rules.js';
import { dateOfYear, yearFraction } from './timeline.js';
import { compileGlob, compileGlobs, type GlobMatcher } from '../glob.js';

/** Per-target overrides from shelflife.config.yaml (already validated). */
export interface TargetOverride {
  /** Globs over the artifact location (absolute, or relative to `baseDir`), or URI prefixes/globs. */
  match: string[];
  class?: string;
  lifetime?: number;
  secrecy?: number;
  migration?: number;
  harvest?: number;
  copies?: number;
}

export interface ClassifyContext {
  lifetimes: Lifetimes;
  /** Class parameter overrides (config `classes:`), merged over the rule file's. */
  classOverrides?: Record<string, Partial<ClassParams>>;
  targets?: TargetOverride[];
  /** Directory that relative target globs are resolved against (the config file's). */
  baseDir?: string;
  /** Now, as a fractional year. */
  now: number;
}

export interface Evidence {
  at: string;
  source: string;
}

export interface Classification {
  class: string;
  classSource: string;
  /** Effective parameters (years), after every override. */
  params: { lifetime: number; secrecy: number; migration: number; harvest: number; signed: boolean };
  lifetime: { years: number; source: string };
  /** The lifetime was stated for this artifact (annotation, config target) or ended by its retirement, not a class default. */
  lifetimeStated: boolean;
  secrecySource: string;
  migrationSource: string;
  created: Evidence & { year: number };
  /** Every creation-time evidence found, best first. */
  evidence: Evidence[];
  copiesOverride?: { copies: number; source: string };
}

/** The location string class rules and target globs are matched against: the URI's path, members after `!/`. */
export function locationPath(uri: string): string {
  const bang = uri.indexOf('!/');
  const outer = bang < 0 ? uri : uri.slice(0, bang);
  const inner = bang < 0 ? '' : safeDecode(uri.slice(bang));
  let path: string;
  try {
    const u = new URL(outer);
    path = u.protocol === 'file:' ? fileURLToPath(u) : `${u.host}${safeDecode(u.pathname)}`;
  } catch {
    path = outer;
  }
  return (path + inner).replace(/^\/+/, '');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const matcherCache = new Map<string, (s: string) => boolean>();

export function globMatch(glob: string, value: string): boolean {
  let m = matcherCache.get(glob);
  if (!m) {
    // Globs from rule and config files are matched against names inside hostile archives: bounded (src/glob.ts).
    m = compileGlob(glob, 'glob in a class rule, target or policy', { nocase: true });
    if (matcherCache.size > 10_000) matcherCache.clear();
    matcherCache.set(glob, m);
  }
  return m(value);
}

/** Each class rule's `paths`, compiled once (rules live as long as the loaded rule set). */
const pathMatchers = new WeakMap<ClassRule, GlobMatcher>();

function pathsMatch(rule: ClassRule & { paths: string[] }, path: string): boolean {
  let m = pathMatchers.get(rule);
  if (!m) {
    // Globs from rule and config files are matched against names inside hostile archives: bounded (src/glob.ts).
    m = compileGlobs(rule.paths, 'glob in a class rule, target or policy', { nocase: true });
    pathMatchers.set(rule, m);
  }
  return m(path);
}

/** Does one class rule match? Every criterion given must hold; within a list any entry may. */
export function ruleMatches(rule: ClassRule, a: ArtifactResult, path: string): boolean {
  if (rule.paths && !pathsMatch(rule as ClassRule & { paths: string[] }, path)) return false;
  if (rule.mediaTypes && !(a.mediaType && rule.mediaTypes.some((g) => globMatch(g, a.mediaType!)))) return false;
  if (rule.annotations) {
    const ann = Object.entries(a.annotations ?? {});
    for (const [kg, vg] of Object.entries(rule.annotations)) if (!ann.some(([k, v]) => globMatch(kg, k) && globMatch(vg, v))) return false;
  }
  if (rule.formats && !a.findings.some((f) => rule.formats!.includes(f.format))) return false;
  if (rule.kinds) {
    // A carved key is a lead found in some other format's bytes: it says nothing about what the artifact is.
    const told = a.findings.filter((f) => f.details?.carved !== true);
    if (!(told.length > 0 && told.every((f) => rule.kinds!.includes(f.kind)))) return false;
  }
  return true;
}

/**
 * The path an encrypted file is classified by: without its encryption extension when encrypted data was found in it
 * (`release/customers.sql.gpg` → `release/customers.sql`, a database snapshot), else the path itself.
 */
export function plaintextPath(a: ArtifactResult, path: string, suffixes: readonly string[]): string {
  const dot = path.lastIndexOf('.');
  if (dot <= path.lastIndexOf('/') + 1 || !suffixes.includes(path.slice(dot + 1).toLowerCase())) return path;
  return a.findings.some((f) => f.kind === 'encrypted-data' && f.details?.carved !== true) ? path.slice(0, dot) : path;
}

function targetMatches(t: TargetOverride, uri: string, path: string, baseDir?: string): boolean {
  const candidates = [uri, path];
  if (baseDir && uri.startsWith('file:')) {
    const rel = relative(baseDir, `/${path}`);
    if (rel && !rel.startsWith('..')) candidates.push(rel);
  }
  return t.match.some((g) => candidates.some((c) => c === g || c.startsWith(g.endsWith('/') ? g : `${g}/`) || globMatch(g, c)));
}

/** A valid ISO date as a fractional year, or undefined (hostile or missing values are ignored, not trusted). */
export function parseWhen(s: string | undefined): number | undefined {
  if (!s || s.length > 64) return undefined;
  const ms = Date.parse(s);
  if (!Number.isFinite(ms)) return undefined;
  const y = yearFraction(new Date(ms));
  return y >= 1970 && y < 2200 ? y : undefined;
}

/** Creation-time evidence on an artifact, best first (see the module comment). */
export function creationEvidence(a: ArtifactResult): Evidence[] {
  const out: Evidence[] = [];
  const ann = a.annotations ?? {};
  if (parseWhen(ann['shelflife.created']) !== undefined) out.push({ at: ann['shelflife.created'], source: 'annotation:shelflife.created' });
  const sigTimes = a.findings
    .filter((f) => f.kind === 'signature' && parseWhen(f.created) !== undefined)
    .sort((x, y) => parseWhen(x.created)! - parseWhen(y.created)!);
  // The first signature is when the artifact was published; later ones are counter-signatures or re-signing.
  if (sigTimes[0]) out.push({ at: sigTimes[0].created!, source: `signature:${sigTimes[0].format}` });
  // An artifact cannot be signed before its newest certificate was issued: the latest notBefore is the best bound.
  const certs = a.findings
    .filter((f) => f.kind === 'certificate' && parseWhen(f.notBefore) !== undefined)
    .sort((x, y) => parseWhen(y.notBefore)! - parseWhen(x.notBefore)!);
  if (certs[0]) out.push({ at: certs[0].notBefore!, source: 'certificate:notBefore' });
  if (parseWhen(ann['org.opencontainers.image.created']) !== undefined)
    out.push({ at: ann['org.opencontainers.image.created'], source: 'annotation:org.opencontainers.image.created' });
  if (parseWhen(a.modified) !== undefined) out.push({ at: a.modified!, source: 'mtime' });
  return out;
}

export function classifyArtifact(a: ArtifactResult, parent: Classification | undefined, ctx: ClassifyContext): Classification {
  const { lifetimes } = ctx;
  const path = locationPath(a.uri);
  const targets = (ctx.targets ?? []).filter((t) => targetMatches(t, a.uri, path, ctx.baseDir));
  const fromTarget = <K extends keyof TargetOverride>(k: K): { value: NonNullable<TargetOverride[K]>; source: string } | undefined => {
    // The last matching target wins, so a specific entry can follow a general one.
    for (let i = targets.length - 1; i >= 0; i--) {
      const v = targets[i][k];
      if (v !== undefined) return { value: v as NonNullable<TargetOverride[K]>, source: `config:${targets[i].match.join(',')}` };
    }
    return undefined;
  };
  const ann = a.annotations ?? {};

  let cls: string;
  let classSource: string;
  const tClass = fromTarget('class');
  const annClass = ann['shelflife.class'];
  if (tClass) {
    cls = tClass.value;
    classSource = tClass.source;
  } else if (annClass && lifetimes.classes[annClass]) {
    cls = annClass;
    classSource = 'annotation:shelflife.class';
  } else {
    // A member is what its own path says (lib/firmware/x.bin in an OS image is firmware); the container's location
    // only matters through the fallback to the container's class below.
    const bang = a.uri.lastIndexOf('!/');
    const own = plaintextPath(a, bang < 0 ? path : safeDecode(a.uri.slice(bang + 2)), lifetimes.encryptedSuffixes);
    const i = lifetimes.rules.findIndex((r) => ruleMatches(r, a, own));
    if (i >= 0) {
      cls = lifetimes.rules[i].class;
      classSource = `rule:${cls}#${i + 1}`;
    } else if (parent) {
      cls = parent.class;
      classSource = `parent:${parent.class}`;
    } else {
      cls = lifetimes.defaultClass;
      classSource = 'default';
    }
  }
  const base = lifetimes.classes[cls];
  const over = ctx.classOverrides?.[cls] ?? {};
  const pick = (k: 'lifetime' | 'secrecy' | 'migration' | 'harvest'): { value: number; source: string } => {
    const t = fromTarget(k);
    if (t) return t as { value: number; source: string };
    if (over[k] !== undefined) return { value: over[k] as number, source: `config:classes.${cls}` };
    return { value: base[k], source: `rule:${cls}` };
  };
  let lifetime = pick('lifetime');
  const annLifetime = ann['shelflife.lifetime'] !== undefined ? parseDuration(ann['shelflife.lifetime']) : undefined;
  if (annLifetime !== undefined) lifetime = { value: annLifetime, source: 'annotation:shelflife.lifetime' };
  const secrecy = pick('secrecy');
  const migration = pick('migration');
  const harvest = pick('harvest');

  const evidence = creationEvidence(a);
  const best = evidence[0];
  let createdYear = best ? parseWhen(best.at)! : ctx.now;
  let created: Evidence = best ?? { at: dateOfYear(ctx.now).toISOString(), source: 'assumed:now' };
  if (createdYear > ctx.now) {
    // A creation date in the future is a wrong clock or a hostile header: do not let it shorten the exposure.
    createdYear = ctx.now;
    created = { at: dateOfYear(ctx.now).toISOString(), source: `${created.source} (future date ${created.at} clamped to now)` };
  }

  let years = lifetime.value;
  let lifetimeSource = lifetime.source;
  let lifetimeStated = annLifetime !== undefined || fromTarget('lifetime') !== undefined;
  if (cls === 'certificate' && !lifetimeStated) {
    // A certificate is relied on until its notAfter, sooner or later than the class default counted from notBefore
    // (a root issued in 1998 and valid until 2028 is not "retired since 2008"); a chain until its longest member.
    const notAfter = latestNotAfter(a.findings);
    if (notAfter !== undefined && notAfter !== createdYear + years) {
      years = Math.max(0, notAfter - createdYear);
      lifetimeSource = 'certificate:notAfter';
    }
  }
  // Bytes retired in the inventory (`shelflife retire`) are out of service from then on, whatever the class says.
  const retiredAt = parseWhen(a.retired?.at);
  if (retiredAt !== undefined && retiredAt < createdYear + years) {
    years = Math.max(0, retiredAt - createdYear);
    lifetimeSource = 'retired';
    lifetimeStated = true;
  }
  const copiesAnn = Number(ann['shelflife.copies']);
  const tCopies = fromTarget('copies');
  const copiesOverride =
    Number.isInteger(copiesAnn) && copiesAnn >= 1 && copiesAnn <= 1_000_000
      ? { copies: copiesAnn, source: 'annotation:shelflife.copies' }
      : tCopies
        ? { copies: tCopies.value, source: tCopies.source }
        : undefined;
  return {
    class: cls,
    classSource,
    params: {
      lifetime: years,
      secrecy: secrecy.value,
      migration: migration.value,
      harvest: harvest.value,
      signed: (over.signed ?? base.signed) && !classSource.startsWith('parent:'),
    },
    lifetime: { years: round(years, 2), source: lifetimeSource },
    lifetimeStated,
    secrecySource: secrecy.source,
    migrationSource: migration.source,
    created: { ...created, year: createdYear },
    evidence,
    ...(copiesOverride ? { copiesOverride } : {}),
  };
}

/** The latest notAfter among the certificates an artifact holds (a chain lives as long as its longest member). */
function latestNotAfter(findings: Finding[]): number | undefined {
  let out: number | undefined;
  for (const f of findings) {
    if (f.kind !== 'certificate') continue;
    const t = parseWhen(f.notAfter);
    if (t !== undefined && (out === undefined || t > out)) out = t;
  }
  return out;
}

export function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}
