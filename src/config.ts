/**
 * shelflife.config.yaml: scoring defaults, user timelines and policies, class parameter overrides and per-target
 * overrides. Read through the one rules loader (src/rules/loader.ts), so unknown keys and bad values are rejected
 * with the file and line. Command-line flags win over the file.
 * @module
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ShelflifeError } from './errors.js';
import { loadRulesFile, parseRules } from './rules/loader.js';
import type { TargetOverride } from './scoring/classify.js';
import { Duration, TimelineEntry, type ClassParams } from './scoring/rules.js';

const SeverityName = z.enum(['critical', 'high', 'medium', 'low', 'none']);

const ClassOverride = z
  .object({
    lifetime: Duration.optional(),
    secrecy: Duration.optional(),
    migration: Duration.optional(),
    harvest: z.number().min(0).max(1).optional(),
    signed: z.boolean().optional(),
  })
  .strict();

const Target = z
  .object({
    match: z.union([z.string().min(1).max(1000), z.array(z.string().min(1).max(1000)).min(1)]),
    class: z.string().optional(),
    lifetime: Duration.optional(),
    secrecy: Duration.optional(),
    migration: Duration.optional(),
    harvest: z.number().min(0).max(1).optional(),
    copies: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict();

/** What a scheduled scan does: targets, reading options, where reports go, credentials by reference only. */
const ScanSection = z
  .object({
    targets: z.array(z.string().min(1).max(4096)).min(1).max(10_000).optional(),
    include: z.array(z.string()).optional(),
    exclude: z.array(z.string()).optional(),
    concurrency: z.number().int().min(1).max(256).optional(),
    /** Inventory: a SQLite path (relative to this file) or a postgres:// URL. */
    db: z.string().min(1).optional(),
    outputs: z
      .array(z.object({ format: z.string().min(1), path: z.string().min(1) }).strict())
      .max(32)
      .optional(),
    /** Remote-store reading options, as the scan flags of the same names. */
    remote: z
      .object({
        allRepositories: z.boolean().optional(),
        versions: z.boolean().optional(),
        layers: z.boolean().optional(),
        digest: z.enum(['full', 'none', 'auto']).optional(),
      })
      .strict()
      .optional(),
    /**
     * Credentials by reference: where the standard clients look, never a secret. Applied only when the environment
     * does not already set them.
     */
    credentials: z
      .object({ dockerConfig: z.string().optional(), awsProfile: z.string().optional(), awsEndpointUrlS3: z.string().url().optional() })
      .strict()
      .optional(),
  })
  .strict();

export type ScanConfig = z.infer<typeof ScanSection>;

export const ConfigSchema = z
  .object({
    version: z.literal(1),
    timeline: z.string().optional(),
    crqcYear: z.number().int().min(1990).max(2200).optional(),
    policies: z.array(z.string()).optional(),
    /** Extra policy files (same schema as rules/policies/*.yaml), relative to the config file. */
    policyFiles: z.array(z.string()).optional(),
    failOn: SeverityName.optional(),
    timelines: z.record(z.string().regex(/^[a-z0-9][a-z0-9.-]*$/), TimelineEntry).optional(),
    classes: z.record(z.string(), ClassOverride).optional(),
    targets: z.array(Target).max(10_000).optional(),
    scan: ScanSection.optional(),
  })
  .strict();

export interface ShelflifeConfig {
  file?: string;
  baseDir: string;
  timeline?: string;
  crqcYear?: number;
  policies?: string[];
  policyFiles: string[];
  failOn?: z.infer<typeof SeverityName>;
  timelines: Record<string, TimelineEntry>;
  classes: Record<string, Partial<ClassParams>>;
  targets: TargetOverride[];
  /** The `scan:` section, with relative paths resolved against the config file's directory. */
  scan?: ScanConfig;
}

const isUri = (t: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(t);

function resolveScanSection(scan: ScanConfig | undefined, baseDir: string): ScanConfig | undefined {
  if (!scan) return undefined;
  const local = (p: string) => (isUri(p) || isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    ...scan,
    ...(scan.targets ? { targets: scan.targets.map(local) } : {}),
    ...(scan.db ? { db: /^postgres(ql)?:\/\//.test(scan.db) ? scan.db : local(scan.db) } : {}),
    ...(scan.outputs ? { outputs: scan.outputs.map((o) => ({ ...o, path: local(o.path) })) } : {}),
    ...(scan.credentials?.dockerConfig ? { credentials: { ...scan.credentials, dockerConfig: local(scan.credentials.dockerConfig) } } : {}),
  };
}

function fromParsed(data: z.infer<typeof ConfigSchema>, file: string | undefined, baseDir: string): ShelflifeConfig {
  return {
    ...(file ? { file } : {}),
    baseDir,
    ...(data.timeline ? { timeline: data.timeline } : {}),
    ...(data.crqcYear !== undefined ? { crqcYear: data.crqcYear } : {}),
    ...(data.policies ? { policies: data.policies } : {}),
    policyFiles: (data.policyFiles ?? []).map((p) => (isAbsolute(p) ? p : resolve(baseDir, p))),
    ...(data.failOn ? { failOn: data.failOn } : {}),
    timelines: data.timelines ?? {},
    classes: data.classes ?? {},
    targets: (data.targets ?? []).map((t) => ({
      match: Array.isArray(t.match) ? t.match : [t.match],
      ...(t.class ? { class: t.class } : {}),
      ...(t.lifetime !== undefined ? { lifetime: t.lifetime } : {}),
      ...(t.secrecy !== undefined ? { secrecy: t.secrecy } : {}),
      ...(t.migration !== undefined ? { migration: t.migration } : {}),
      ...(t.harvest !== undefined ? { harvest: t.harvest } : {}),
      ...(t.copies !== undefined ? { copies: t.copies } : {}),
    })),
    ...(data.scan ? { scan: resolveScanSection(data.scan, baseDir) } : {}),
  };
}

export function loadConfig(file: string): ShelflifeConfig {
  const abs = resolve(file);
  return fromParsed(loadRulesFile(abs, ConfigSchema), abs, dirname(abs));
}

/** Parse config text (tests, embedding); `file` only names it in errors. */
export function parseConfig(text: string, file = 'shelflife.config.yaml', baseDir = process.cwd()): ShelflifeConfig {
  return fromParsed(parseRules(text, file, ConfigSchema), file, baseDir);
}

/** Check names the config refers to against the loaded class table; errors name the config file. */
export function checkConfigClasses(config: ShelflifeConfig, classes: Record<string, unknown>): void {
  const where = config.file ?? 'shelflife.config.yaml';
  for (const c of Object.keys(config.classes)) {
    if (!Object.prototype.hasOwnProperty.call(classes, c))
      throw new ShelflifeError('config', `${where}: classes.${c}: unknown class (known: ${Object.keys(classes).join(', ')})`);
  }
  config.targets.forEach((t, i) => {
    if (t.class && !Object.prototype.hasOwnProperty.call(classes, t.class))
      throw new ShelflifeError('config', `${where}: targets[${i}].class: unknown class "${t.class}" (known: ${Object.keys(classes).join(', ')})`);
  });
}
