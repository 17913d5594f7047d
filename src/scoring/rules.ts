/**
 * Schemas and loaders for the scoring rules: rules/lifetimes.yaml (artifact classes), rules/timelines.yaml (CRQC
 * probability curves) and rules/policies/*.yaml (deadlines). All go through the one rules loader
 * (src/rules/loader.ts), so unknown keys and bad values are rejected with the file and line.
 * @module
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { z } from 'zod';
import { ShelflifeError } from '../errors.js';
import { zod } from '../rules/libraries.js';
import { bundledRulesDir, loadRulesFile } from '../rules/loader.js';

/** `15y`, `18m`, `90d`, `2.5y` → years. Months are twelfths of a year, days 1/365.25 (Julian year). */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,4}(?:\.\d{1,4})?)\s*([ymd])$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const years = m[2] === 'y' ? n : m[2] === 'm' ? n / 12 : n / 365.25;
  return years <= 200 ? years : undefined;
}

/**
 * The zod schemas of the scoring rules, made the first time a rules file is parsed: a build reads the bundled rules
 * from its compiled module, so zod is not loaded at start-up (src/rules/libraries.ts).
 */
function defineSchemas() {
  const { z } = zod();
  const Duration = z.string().transform((s, ctx) => {
    const y = parseDuration(s);
    if (y === undefined) {
      ctx.addIssue({ code: 'custom', message: `bad duration "${s}" (expected e.g. 15y, 18m or 90d, at most 200 years)` });
      return z.NEVER;
    }
    return y;
  });

  const Glob = z.string().min(1).max(1000);

  const ClassParams = z
    .object({
      description: z.string().optional(),
      lifetime: Duration,
      secrecy: Duration,
      migration: Duration,
      harvest: z.number().min(0).max(1),
      signed: z.boolean(),
    })
    .strict();

  const ClassRule = z
    .object({
      class: z.string().min(1),
      paths: z.array(Glob).optional(),
      mediaTypes: z.array(Glob).optional(),
      annotations: z.record(Glob, Glob).optional(),
      formats: z.array(z.string()).optional(),
      kinds: z.array(z.enum(['certificate', 'signature', 'public-key', 'private-key', 'encrypted-data'])).optional(),
    })
    .strict()
    .refine((r) => r.paths || r.mediaTypes || r.annotations || r.formats || r.kinds, {
      message: 'a rule needs at least one of paths, mediaTypes, annotations, formats, kinds',
    });

  const LifetimesSchema = z
    .object({
      version: z.literal(1),
      defaultClass: z.string(),
      classes: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), ClassParams),
      /** Extensions of encrypted files (`gpg`, `age` …): an encrypted file is classified by the name of what it encrypts. */
      encryptedSuffixes: z
        .array(z.string().regex(/^[a-z0-9]{1,16}$/))
        .max(64)
        .default([]),
      rules: z.array(ClassRule),
    })
    .strict()
    .superRefine((d, ctx) => {
      if (!d.classes[d.defaultClass]) ctx.addIssue({ code: 'custom', path: ['defaultClass'], message: `unknown class "${d.defaultClass}"` });
      d.rules.forEach((r, i) => {
        if (!d.classes[r.class]) ctx.addIssue({ code: 'custom', path: ['rules', i, 'class'], message: `unknown class "${r.class}"` });
      });
    });

  const CurvePoint = z.object({ year: z.number().int().min(1990).max(2200), p: z.number().min(0).max(1) }).strict();

  const TimelineEntry = z
    .object({
      title: z.string(),
      source: z.string().optional(),
      curve: z.array(CurvePoint).min(1).max(200).optional(),
      crqcYear: z.number().int().min(1990).max(2200).optional(),
    })
    .strict()
    .superRefine((t, ctx) => {
      if (!!t.curve === (t.crqcYear !== undefined)) ctx.addIssue({ code: 'custom', message: 'a timeline needs exactly one of curve or crqcYear' });
      t.curve?.forEach((pt, i) => {
        const prev = t.curve![i - 1];
        if (prev && pt.year <= prev.year)
          ctx.addIssue({ code: 'custom', path: ['curve', i, 'year'], message: `curve years must increase (${pt.year} after ${prev.year})` });
        if (prev && pt.p < prev.p)
          ctx.addIssue({ code: 'custom', path: ['curve', i, 'p'], message: `a cumulative probability cannot fall (${pt.p} after ${prev.p})` });
      });
    });

  const TimelinesSchema = z
    .object({ version: z.literal(1), default: z.string(), timelines: z.record(z.string().regex(/^[a-z0-9][a-z0-9.-]*$/), TimelineEntry) })
    .strict()
    .superRefine((d, ctx) => {
      if (!d.timelines[d.default]) ctx.addIssue({ code: 'custom', path: ['default'], message: `unknown timeline "${d.default}"` });
    });

  const FindingKind = z.enum(['certificate', 'signature', 'public-key', 'private-key', 'encrypted-data']);

  const PolicyMatch = z
    .object({
      use: z.array(z.enum(['forgery', 'hndl'])).optional(),
      kinds: z.array(FindingKind).optional(),
      classes: z.array(z.string()).optional(),
      notClasses: z.array(z.string()).optional(),
      status: z.array(z.enum(['vulnerable', 'weakened', 'resistant', 'hybrid', 'unknown'])).optional(),
      families: z.array(z.string()).optional(),
      ids: z.array(z.string()).optional(),
      notIds: z.array(z.string()).optional(),
      names: z.array(Glob).optional(),
      hashes: z.array(z.string()).optional(),
      maxClassicalBits: z.number().int().min(0).max(1024).optional(),
    })
    .strict();

  const PolicyRule = z
    .object({
      id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
      match: PolicyMatch,
      action: z.enum(['deprecated', 'disallowed']),
      after: z.number().int().min(1990).max(2200).optional(),
      score: z.number().int().min(0).max(100),
      text: z.string().min(1).max(300),
    })
    .strict();

  const PolicySchema = z
    .object({
      version: z.literal(1),
      name: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
      short: z.string(),
      title: z.string(),
      source: z.string(),
      always: z.boolean().optional(),
      rules: z.array(PolicyRule).min(1),
    })
    .strict();
  return { Duration, ClassParams, ClassRule, LifetimesSchema, TimelineEntry, TimelinesSchema, PolicyMatch, PolicyRule, PolicySchema };
}

type Schemas = ReturnType<typeof defineSchemas>;
let schemas: Schemas | undefined;
export function scoringSchemas(): Schemas {
  return (schemas ??= defineSchemas());
}

export type ClassParams = z.infer<Schemas['ClassParams']>;
export type ClassRule = z.infer<Schemas['ClassRule']>;
export type Lifetimes = z.infer<Schemas['LifetimesSchema']>;
export type TimelineEntry = z.infer<Schemas['TimelineEntry']>;
export type Timelines = z.infer<Schemas['TimelinesSchema']>;
export type PolicyMatch = z.infer<Schemas['PolicyMatch']>;
export type PolicyRule = z.infer<Schemas['PolicyRule']>;
export type Policy = z.infer<Schemas['PolicySchema']>;

export function loadLifetimes(file = join(bundledRulesDir(), 'lifetimes.yaml')): Lifetimes {
  return loadRulesFile(file, () => scoringSchemas().LifetimesSchema);
}

export function loadTimelines(file = join(bundledRulesDir(), 'timelines.yaml')): Timelines {
  return loadRulesFile(file, () => scoringSchemas().TimelinesSchema);
}

/** Load one policy file; its `name` must match the file name so `--policy <name>` finds what it says. */
export function loadPolicy(file: string): Policy {
  const p = loadRulesFile(file, () => scoringSchemas().PolicySchema);
  const stem = basename(file).replace(/\.ya?ml$/, '');
  if (p.name !== stem) throw new ShelflifeError('rules', `policy name "${p.name}" does not match the file name "${stem}"`, { uri: `${file}:1` });
  return p;
}

/** Every policy in a directory (the bundled rules/policies/ by default), by name. */
export function loadPolicies(dir = join(bundledRulesDir(), 'policies')): Map<string, Policy> {
  const out = new Map<string, Policy>();
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch (e) {
    throw new ShelflifeError('rules', `cannot read the policies directory (${(e as Error).message})`, { uri: dir, cause: e });
  }
  for (const f of names) {
    const p = loadPolicy(join(dir, f));
    out.set(p.name, p);
  }
  return out;
}

/** The bundled rules, loaded once per process. */
export interface ScoringRules {
  lifetimes: Lifetimes;
  timelines: Timelines;
  policies: Map<string, Policy>;
}

let bundled: ScoringRules | undefined;

export function bundledScoringRules(): ScoringRules {
  bundled ??= { lifetimes: loadLifetimes(), timelines: loadTimelines(), policies: loadPolicies() };
  return bundled;
}
