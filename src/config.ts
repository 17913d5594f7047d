/**
 * shelflife.config.yaml: what a scheduled scan does (targets, reading options, inventory, reports, credentials by
 * reference), scoring defaults, user timelines and policies, class parameter overrides and per-target overrides. Read
 * through the one rules loader (src/rules/loader.ts), so unknown keys and bad values are rejected with the file and
 * line. `configureScan` turns a config into the options of `scan()`: `shelflife scan --config` is that call with the
 * command line's values winning, so a library user gets exactly what the CLI does.
 * @module
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { UsageError } from './errors.js';
import type { Severity } from './model.js';
import { EVENT_FORMATS, type EventFormat } from './report/event.js';
import { FORMAT_NAMES, reportFormat, type ReportFormat } from './report/index.js';
import { zod } from './rules/libraries.js';
import { loadRulesFile, parseRules } from './rules/loader.js';
import type { ScanOptions } from './scan/scan.js';
import type { ScoringConfig, ScoringOptions } from './scoring/index.js';
import { scoringSchemas } from './scoring/rules.js';
import type { SinkConfig } from './sinks/transport.js';
import type { SourceOptions } from './sources/index.js';

/** The config schema, made on first use (zod is loaded only when a config or rules file is parsed). */
function defineSchemas() {
  const { z } = zod();
  const { Duration, TimelineEntry } = scoringSchemas();
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
        .array(
          z
            .object({
              format: z.string().refine((f) => reportFormat(f) !== undefined, {
                error: (iss) => `unknown format "${String(iss.input)}" (known: ${FORMAT_NAMES.join(', ')})`,
              }),
              /** `{date}` (the scan's end, YYYY-MM-DD) and `{scan}` (its id) are filled in. */
              path: z.string().min(1),
            })
            .strict(),
        )
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
       * SIEM sinks every scan of this config delivers to, as the --sink flags; also where `sinks flush --config` takes
       * a spooled sink's credentials from. Secrets by reference only: an environment variable or a file.
       */
      sinks: z
        .array(
          z
            .object({
              url: z.string().min(1).max(4096),
              format: z.enum(EVENT_FORMATS as [EventFormat, ...EventFormat[]]).optional(),
              tokenEnv: z
                .string()
                .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
                .optional(),
              tokenFile: z.string().min(1).optional(),
              ca: z.string().min(1).optional(),
              cert: z.string().min(1).optional(),
              key: z.string().min(1).optional(),
            })
            .strict(),
        )
        .max(32)
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

  const ConfigSchema = z
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
  return { ScanSection, ConfigSchema };
}

type Schemas = ReturnType<typeof defineSchemas>;
let schemas: Schemas | undefined;
export function configSchema(): Schemas['ConfigSchema'] {
  return (schemas ??= defineSchemas()).ConfigSchema;
}

export type ScanConfig = z.infer<Schemas['ScanSection']>;

/** A loaded config: what scoring takes from it (ScoringConfig), plus `failOn` and the `scan:` section. */
export interface ShelflifeConfig extends ScoringConfig {
  failOn?: Severity;
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
    ...(scan.sinks
      ? {
          sinks: scan.sinks.map((s) => ({
            ...s,
            ...(s.tokenFile ? { tokenFile: local(s.tokenFile) } : {}),
            ...(s.ca ? { ca: local(s.ca) } : {}),
            ...(s.cert ? { cert: local(s.cert) } : {}),
            ...(s.key ? { key: local(s.key) } : {}),
          })),
        }
      : {}),
    ...(scan.credentials?.dockerConfig ? { credentials: { ...scan.credentials, dockerConfig: local(scan.credentials.dockerConfig) } } : {}),
  };
}

function fromParsed(data: z.infer<Schemas['ConfigSchema']>, file: string | undefined, baseDir: string): ShelflifeConfig {
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
  return fromParsed(loadRulesFile(abs, configSchema), abs, dirname(abs));
}

/** Parse config text (tests, embedding); `file` only names it in errors. */
export function parseConfig(text: string, file = 'shelflife.config.yaml', baseDir = process.cwd()): ShelflifeConfig {
  return fromParsed(parseRules(text, file, configSchema()), file, baseDir);
}

/** What the caller asks for beyond the config (the command line's values): every value given wins over the config. */
export interface ScanRequest {
  targets?: string[];
  include?: string[];
  exclude?: string[];
  concurrency?: number;
  /** Detection threads (`--threads`): see ScanOptions.threads. */
  threads?: number;
  detectors?: ScanOptions['detectors'];
  /** Remote-store options; merged over the config's `scan.remote`, key by key. */
  sourceOptions?: SourceOptions;
  /** Scoring options (`--now`, `--timeline` …); the config's scoring settings fill in the rest. `false`: no scoring. */
  scoring?: ScoringOptions | false;
  now?: () => Date;
  /** Inventory: a SQLite path or postgres:// URL. */
  db?: string;
  failOn?: Severity;
}

/** A scan as the config and the request describe it, ready to run. */
export interface ConfiguredScan {
  /** For `scan()`; add `inventory` (open `db`), `onArtifact` and `full` as needed. */
  options: ScanOptions;
  /** The inventory to record the scan in: the request's, else the config's `scan.db`. */
  db?: string;
  /** Reports to write once the scan is done (`writeReports`, src/report/write.ts). */
  outputs: { format: ReportFormat; path: string }[];
  /** SIEM sinks to spool and deliver the result to (src/sinks/deliver.ts `spoolAndDeliver`): the config's `scan.sinks`. */
  sinks: SinkConfig[];
  failOn?: Severity;
  /**
   * Environment variables the config's credential references set (`DOCKER_CONFIG`, `AWS_PROFILE`,
   * `AWS_ENDPOINT_URL_S3`): only those the environment does not already set. The standard clients (docker credential
   * lookup, the AWS SDK) read them, in scan and in resign alike; set them before scanning, as the CLI does.
   */
  env: Record<string, string>;
}

const DEFAULT_CONCURRENCY = 4;

/**
 * Turn a config (or none) and a request into the options of `scan()`. Targets come from the request, else from the
 * config's `scan.targets`; none at all is a usage error. The config's scoring settings apply unless scoring is off.
 */
export function configureScan(config: ShelflifeConfig | undefined, request: ScanRequest = {}, env: NodeJS.ProcessEnv = process.env): ConfiguredScan {
  const planned = config?.scan;
  const targets = request.targets?.length ? request.targets : (planned?.targets ?? []);
  if (!targets.length) throw new UsageError('no targets: name paths or URIs, or give a config whose scan.targets lists them (--config)');
  const concurrency = request.concurrency ?? planned?.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new UsageError('concurrency must be a whole number from 1 to 256');
  const remote = planned?.remote ?? {};
  const sourceOptions: SourceOptions = {
    ...(remote.allRepositories ? { allRepositories: true } : {}),
    ...(remote.versions ? { versions: true } : {}),
    ...(remote.layers ? { layers: true } : {}),
    ...(remote.digest ? { digest: remote.digest } : {}),
    ...Object.fromEntries(Object.entries(request.sourceOptions ?? {}).filter(([, v]) => v !== undefined)),
  };
  const include = request.include ?? planned?.include;
  const exclude = request.exclude ?? planned?.exclude;
  const scoring: ScanOptions['scoring'] = request.scoring === false ? false : { ...(config ? { config } : {}), ...request.scoring };
  const options: ScanOptions = {
    targets,
    ...(include ? { include } : {}),
    ...(exclude ? { exclude } : {}),
    concurrency,
    ...(request.threads !== undefined ? { threads: request.threads } : {}),
    ...(request.detectors ? { detectors: request.detectors } : {}),
    sourceOptions,
    scoring,
    ...(request.now ? { now: request.now } : {}),
  };
  const db = request.db ?? planned?.db;
  const failOn = request.failOn ?? config?.failOn;
  return {
    options,
    ...(db ? { db } : {}),
    outputs: (planned?.outputs ?? []).flatMap((o): { format: ReportFormat; path: string }[] => {
      const format = reportFormat(o.format);
      return format ? [{ format, path: o.path }] : [];
    }),
    sinks: planned?.sinks ?? [],
    ...(failOn ? { failOn } : {}),
    env: credentialEnvironment(planned?.credentials, env),
  };
}

/** The standard clients' variables for the config's credential references, where `env` does not set them already. */
function credentialEnvironment(c: ScanConfig['credentials'], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  if (c?.dockerConfig && !env.DOCKER_CONFIG) out.DOCKER_CONFIG = c.dockerConfig;
  if (c?.awsProfile && !env.AWS_PROFILE) out.AWS_PROFILE = c.awsProfile;
  if (c?.awsEndpointUrlS3 && !env.AWS_ENDPOINT_URL_S3) out.AWS_ENDPOINT_URL_S3 = c.awsEndpointUrlS3;
  return out;
}
