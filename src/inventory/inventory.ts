/**
 * The inventory: every scan recorded, artifacts keyed by sha256, every location (file path, OCI repo@digest, S3
 * key@version, archive member) with first/last seen, and what each scan saw at each location. Answers "where else do
 * these bytes live" (copies), "what changed since" (diff), "skip what did not change" (incremental scans) and records
 * retirements. One Kysely query layer over SQLite (default, WAL) or PostgreSQL (a `postgres://` URL).
 * @module
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { makeDirectory } from '../directory.js';
import { retiredPresent, type RetiredPresent } from './retirement.js';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kysely, SqliteDialect, PostgresDialect, sql } from 'kysely';
import { ShelflifeError, UsageError } from '../errors.js';
import { findingKey } from '../identity.js';
import type { ArtifactResult, Finding, ScanResult, Severity, UnreadLocation } from '../model.js';
import { isWithin, SEVERITIES, topUri, unreadLocations } from '../model.js';
import type { ArtifactRef } from '../sources/types.js';
import { bundledRulesDir } from '../rules/loader.js';
import { VERSION } from '../version.js';
import { artifactsOfModel, modelsInScan } from '../provenance/scan-models.js';
import { isSignatureName } from '../sources/signature-names.js';
import { migrate, type InventoryTables } from './schema.js';
import { inputsOf, scoredFields, type ScoredFields, type ScoringReuse, type StoredInputs } from '../scoring/reuse.js';

import { defaultInventoryPath } from './paths.js';

export { defaultInventoryPath };

/** The two events of pg's Pool observed here. */
interface PgPoolEvents {
  on(event: 'error', fn: (e: Error) => void): void;
  on(event: 'connect', fn: (client: { on(event: 'error', fn: (e: Error) => void): void }) => void): void;
}

export interface LocationRow {
  uri: string;
  sha256: string | null;
  parentUri: string | null;
  store: string;
  size: number;
  firstSeen: string;
  lastSeen: string;
  lastScan: string;
}

export interface DiffEntry {
  uri: string;
  finding: Finding;
  before?: Finding;
}

export interface ScanDiff {
  from: { id: string; finishedAt: string | null };
  to: { id: string; finishedAt: string | null };
  newFindings: DiffEntry[];
  resolvedFindings: DiffEntry[];
  changedFindings: DiffEntry[];
  newArtifacts: string[];
  disappearedArtifacts: string[];
  /** Artifacts in both scans that lost a signature covering them (a deleted `.asc`, a checksum list no longer signed). */
  coverageLost: CoverageChange[];
  /** Artifacts in both scans that gained one (a new signature file, a hybrid re-signature). */
  coverageGained: CoverageChange[];
  /**
   * Locations the later scan could not read (a missing target, an unreachable registry, a directory it may not read):
   * what the earlier scan found under them is neither resolved nor disappeared, only not compared.
   */
  unread?: UnreadLocation[];
  /** Findings and artifacts of the earlier scan under an unread location: not compared. */
  notCompared?: { findings: number; artifacts: number };
  /** Retired artifacts (`shelflife retire`) the later scan still found, per digest with every location. */
  retired?: RetiredPresent[];
}

/** What signed an artifact before and after (docs/coverage.md), for `diff`. */
export interface CoverageChange {
  uri: string;
  before: CoverageState;
  after: CoverageState;
  /** The signatures (their files) that appeared or went away. */
  signatures: string[];
}

export interface CoverageState {
  coverage?: ArtifactResult['coverage'];
  signed?: boolean;
  migration?: ArtifactResult['migration'];
  signedBy: string[];
}

function coverageState(a: ArtifactResult): CoverageState {
  return {
    ...(a.coverage ? { coverage: a.coverage } : {}),
    ...(a.signed !== undefined ? { signed: a.signed } : {}),
    ...(a.migration ? { migration: a.migration } : {}),
    signedBy: [...new Set((a.signedBy ?? []).map((l) => l.uri))].sort(),
  };
}

/** Coverage lost and gained between two scans, for artifacts present in both (gone ones are listed as gone). */
export function coverageChanges(before: ArtifactResult[], after: ArtifactResult[]): { coverageLost: CoverageChange[]; coverageGained: CoverageChange[] } {
  const was = new Map(before.map((a) => [a.uri, a]));
  const coverageLost: CoverageChange[] = [];
  const coverageGained: CoverageChange[] = [];
  for (const b of after) {
    const a = was.get(b.uri);
    if (!a) continue;
    const x = coverageState(a);
    const y = coverageState(b);
    const lost = x.signedBy.filter((u) => !y.signedBy.includes(u));
    const gained = y.signedBy.filter((u) => !x.signedBy.includes(u));
    // Newly `signed: false` (its class should be signed) counts as lost even when no link was recorded before.
    if (lost.length || (y.signed === false && x.signed !== false) || (x.migration && !y.migration))
      coverageLost.push({ uri: b.uri, before: x, after: y, signatures: lost });
    if (gained.length || (x.signed === false && y.signed !== false && y.signedBy.length) || (y.migration && !x.migration))
      coverageGained.push({ uri: b.uri, before: x, after: y, signatures: gained });
  }
  return { coverageLost, coverageGained };
}

export interface ScanSummary {
  id: string;
  startedAt: string;
  finishedAt: string;
  targets: string[];
  stats: ScanResult['scan']['stats'];
  bySeverity: Record<Severity, number>;
}

function storeOf(uri: string): string {
  const m = uri.match(/^([a-z0-9+.-]+):\/\//i);
  return m ? m[1].toLowerCase() : 'file';
}

/**
 * What is stored per observation: the artifact as scanned and scored, minus the scoring inputs (kept in the JSON
 * report and shown by `explain`, but large and different on every run). Same artifact + same verdict → same record.
 */
function storedRecord(a: ArtifactResult): ArtifactResult {
  const strip = <T extends { exposure?: { inputs?: unknown } }>(x: T): T => (x.exposure?.inputs ? { ...x, exposure: { ...x.exposure, inputs: undefined } } : x);
  return { ...strip(a), findings: a.findings.map(strip) };
}

/** A signature file, checksum list or model signature (src/scan/coverage.ts), whose bytes the coverage pass reads. */
function isEvidence(r: ArtifactResult): boolean {
  const name = (r.member ?? r.annotations?.['s3.key'] ?? r.annotations?.['org.opencontainers.image.title'] ?? r.uri).replace(/^.*\//, '');
  return r.size <= 16 * 1024 * 1024 && isSignatureName(name);
}

/** What the inventory recorded for a top-level location at its last scan. */
export interface PreviousLocation {
  size: number;
  modified: string | null;
  etag: string | null;
  sha256: string | null;
  lastScan: string;
}

/**
 * The rescan rule, one process or many (src/inventory/unit-reuse.ts): the records of a top-level artifact are carried
 * over when it is unchanged (same content digest, or same ETag and size, or same mtime and size as last time) and
 * nothing about them asks for a new read; their derived fields are cleared in place (derived again for this scan).
 */
export function carryOver(ref: ArtifactRef, prev: PreviousLocation, records: ArtifactResult[] | undefined): ArtifactResult[] | undefined {
  const unchanged =
    (ref.digest !== undefined && prev.sha256 !== null && ref.digest === `sha256:${prev.sha256}`) ||
    (ref.etag !== undefined && prev.etag !== null && ref.etag === prev.etag && ref.size === prev.size) ||
    (ref.modified !== undefined && prev.modified === ref.modified && ref.size === prev.size);
  if (!unchanged) return undefined;
  if (!records?.length || records.some((r) => r.errors.some((e) => e.code === 'io'))) return undefined;
  // Signature files, checksum lists, keys and model signatures inside archives or in remote stores are read again
  // (they are small): the coverage pass checks signatures with their bytes, which a reused record does not carry.
  // A local file's are read again only if a check needs them (src/scan/coverage.ts).
  if (records.some((r) => (r.parent !== null || !ref.local) && isEvidence(r))) return undefined;
  clearDerived(records);
  return records;
}

/**
 * What scoring had set on each carried-over record before `clearDerived` took it off: put back, with the inputs the
 * inventory stored, when nothing scoring reads has changed (src/scoring/reuse.ts).
 */
const scoredBefore = new WeakMap<ArtifactResult, ScoredFields>();

/** Everything derived after detection, removed in place: derived again when the records join a new scan. */
export function clearDerived(records: ArtifactResult[]): void {
  for (const r of records) {
    scoredBefore.set(r, scoredFields(r));
    // Everything derived after detection is derived again for this scan (class, lifetime, copies, verdict).
    for (const k of ['exposure', 'class', 'lifetime', 'created', 'copies', 'retired', 'coverage', 'signedBy', 'signs', 'migration'] as const) delete r[k];
    if (r.signed === false) delete r.signed; // a source's `true` stands; scoring decides `false` again
    for (const f of r.findings) delete f.exposure;
    // What the coverage pass concluded is concluded again, from this scan's signatures and lists.
    r.errors = r.errors.filter((e) => e.source !== 'coverage');
  }
}

/**
 * The records of a top-level location and its members, by their hashes: what scoring stored is taken over only onto
 * these very records (src/scoring/reuse.ts).
 */
function recordsDigest(hashes: [uri: string, hash: string][]): string {
  const h = createHash('sha256');
  for (const [uri, hash] of hashes.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) h.update(uri).update('\0').update(hash).update('\0');
  return h.digest('hex');
}

function severityOf(f: Finding): Severity {
  return f.exposure?.severity ?? 'none';
}

export class Inventory {
  private previous?: Map<string, PreviousLocation>;
  private previousRecords?: Map<string, ArtifactResult[]>;
  /** Record hash each location had in the scan it is reused from, and the locations this scan reused. */
  private readonly previousHash = new Map<string, string>();
  private readonly reused = new Set<string>();
  /** The scoring key and exposure inputs the last scoring stored per carried top-level location (`scorings`). */
  private previousScoring = new Map<string, { key: string; inputs: string }>();
  /** Artifacts of the last recorded scan whose exposures were carried over rather than scored again. */
  scoresCarried = 0;

  private constructor(
    readonly db: Kysely<InventoryTables>,
    readonly dialect: 'sqlite' | 'postgres',
    readonly location: string,
  ) {}

  /** Open (creating and migrating as needed) an inventory: a SQLite file path, or a postgres:// URL. */
  static async open(target = defaultInventoryPath()): Promise<Inventory> {
    let inv: Inventory;
    if (/^postgres(ql)?:\/\//.test(target)) {
      const pg = await import('pg').catch(() => {
        throw new ShelflifeError('inventory', 'PostgreSQL inventories need the "pg" package (npm install pg)', { uri: target });
      });
      const Pool =
        (pg as { default?: { Pool: new (o: object) => unknown }; Pool?: new (o: object) => unknown }).default?.Pool ??
        (pg as { Pool: new (o: object) => unknown }).Pool;
      const pool = new Pool({ connectionString: target, max: 4 }) as PgPoolEvents;
      // An idle connection the server closed (a restart, a failover, pg_terminate_backend) is dropped by the pool and
      // the next query opens a new one; unobserved, its 'error' event would end the process.
      pool.on('error', () => {});
      // So is one checked out between two statements (a transaction in progress): its statements fail, it is released
      // with the error and discarded, and the caller's transaction fails and is retried by the caller.
      pool.on('connect', (client) => client.on('error', () => {}));
      inv = new Inventory(new Kysely<InventoryTables>({ dialect: new PostgresDialect({ pool: pool as never }) }), 'postgres', target);
    } else {
      const { default: Database } = await import('better-sqlite3');
      let sqlite;
      try {
        makeDirectory(dirname(target));
        sqlite = new Database(target);
        // WAL: readers (report, where, diff) never block the writer, and a killed writer leaves the last commit intact.
        sqlite.pragma('journal_mode = WAL');
        sqlite.pragma('synchronous = NORMAL');
        sqlite.pragma('busy_timeout = 10000');
        sqlite.pragma('foreign_keys = ON');
      } catch (e) {
        throw new ShelflifeError('inventory', `cannot open the inventory database: ${(e as Error).message}`, { uri: target, cause: e });
      }
      inv = new Inventory(new Kysely<InventoryTables>({ dialect: new SqliteDialect({ database: sqlite }) }), 'sqlite', target);
    }
    try {
      await migrate(inv.db);
    } catch (e) {
      await inv.close();
      throw new ShelflifeError('inventory', `${(e as Error).message}`, { uri: target, cause: e });
    }
    return inv;
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  async schemaVersion(): Promise<number> {
    const r = await this.db.selectFrom('meta').select('value').where('key', '=', 'schema_version').executeTakeFirst();
    return Number(r?.value ?? 0);
  }

  /**
   * Load what the inventory knows about these targets' locations, so that `reuse()` answers without a query per
   * artifact. Call once before a scan.
   */
  async prepareIncremental(targets: string[]): Promise<void> {
    this.previous = new Map();
    for (const prefix of targets.map(targetUri)) {
      const rows = await this.db
        .selectFrom('locations')
        .select(['uri', 'size', 'modified', 'etag', 'sha256', 'last_scan'])
        .where('parent_uri', 'is', null)
        .where(sql<boolean>`substr(uri, 1, ${prefix.length}) = ${prefix}`)
        .execute();
      for (const r of rows) this.previous.set(r.uri, { size: Number(r.size), modified: r.modified, etag: r.etag, sha256: r.sha256, lastScan: r.last_scan });
    }
    // Only results made by this same tool and rule set are reused: a new detector or rule must see the bytes again.
    const compatible = new Set(
      (await this.db.selectFrom('scans').select('id').where('tool_version', '=', VERSION).where('rules_version', '=', rulesVersion()).execute()).map(
        (r) => r.id,
      ),
    );
    for (const [uri, p] of this.previous) if (!compatible.has(p.lastScan)) this.previous.delete(uri);
    const scanIds = [...new Set([...this.previous.values()].map((p) => p.lastScan))];
    this.previousRecords = new Map();
    // Each location's record hashes, members included; a record stored inline (v1–2 databases) has none.
    const hashes = new Map<string, [string, string][] | null>();
    for (let i = 0; i < scanIds.length; i += 500) {
      const obs = await this.observationsOf(scanIds.slice(i, i + 500));
      for (const o of obs) {
        const prev = this.previous.get(o.top_uri);
        if (!prev || prev.lastScan !== o.scan_id) continue;
        const list = this.previousRecords.get(o.top_uri) ?? [];
        if (o.hash) this.previousHash.set(o.uri, o.hash);
        const known = hashes.get(o.top_uri);
        if (o.hash && known !== null) {
          if (known) known.push([o.uri, o.hash]);
          else hashes.set(o.top_uri, [[o.uri, o.hash]]);
        } else hashes.set(o.top_uri, null);
        list.push(o.artifact);
        this.previousRecords.set(o.top_uri, list);
      }
    }
    // What the last scoring of each location stored, when it was stored with the very records carried over (src/scoring/reuse.ts).
    this.previousScoring = new Map();
    for (const prefix of targets.map(targetUri)) {
      const rows = await this.db
        .selectFrom('scorings')
        .select(['top_uri', 'records', 'key', 'inputs'])
        .where(sql<boolean>`substr(top_uri, 1, ${prefix.length}) = ${prefix}`)
        .execute();
      for (const r of rows) {
        const h = hashes.get(r.top_uri);
        if (h && recordsDigest(h) === r.records) this.previousScoring.set(r.top_uri, { key: r.key, inputs: r.inputs });
      }
    }
  }

  /**
   * For scoring this scan (src/scoring/reuse.ts): the key and inputs the last scoring stored for each location this scan
   * carried over, and what scoring had set on its records; scoring fills in every group's key for `recordScan`.
   */
  scoringReuse(): ScoringReuse {
    return {
      previous: (top) => {
        const s = this.reused.has(top) ? this.previousScoring.get(top) : undefined;
        return s && { key: s.key, inputs: () => JSON.parse(s.inputs) as Record<string, StoredInputs> };
      },
      scoredBefore: (a) => scoredBefore.get(a),
      keys: new Map(),
    };
  }

  /** Observations of some scans with their records resolved (inline in v1–2 databases, by hash from v3). */
  private async observationsOf(scanIds: string[]): Promise<{ scan_id: string; uri: string; top_uri: string; hash: string | null; artifact: ArtifactResult }[]> {
    if (!scanIds.length) return [];
    const rows = await this.db
      .selectFrom('observations')
      .leftJoin('records', 'records.hash', 'observations.record_hash')
      .select([
        'observations.scan_id',
        'observations.uri',
        'observations.top_uri',
        'observations.record',
        'observations.record_hash',
        'records.record as stored',
      ])
      .where('observations.scan_id', 'in', scanIds)
      .orderBy('observations.uri')
      .execute();
    const parsed = new Map<string, ArtifactResult>();
    return rows.map((r) => {
      const text = r.record || r.stored || '{}';
      // Identical records (the same artifact seen unchanged) are parsed once; a stored one is known by its hash.
      const key = !r.record && r.record_hash ? r.record_hash : text;
      let artifact = parsed.get(key);
      if (!artifact) {
        artifact = JSON.parse(text) as ArtifactResult;
        parsed.set(key, artifact);
      }
      return { scan_id: r.scan_id, uri: r.uri, top_uri: r.top_uri, hash: r.record_hash, artifact: text === r.record ? artifact : { ...artifact } };
    });
  }

  /**
   * Incremental scans: the records of an unchanged top-level artifact (same size and mtime, or same ETag, or same
   * content digest as last time), members included, so its bytes are not read again (the rule: `carryOver`).
   */
  reuse(ref: ArtifactRef): ArtifactResult[] | undefined {
    const prev = this.previous?.get(ref.uri);
    if (!prev) return undefined;
    const records = carryOver(ref, prev, this.previousRecords?.get(ref.uri));
    if (!records) return undefined;
    // Each record is handed out once per scan (it was parsed for this scan alone).
    this.previousRecords?.delete(ref.uri);
    for (const r of records) this.reused.add(r.uri);
    return records;
  }

  /** How many distinct locations hold each digest (this scan's included once recorded). */
  async copies(digests: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('locations')
        .select(['sha256', sql<number>`count(*)`.as('n')])
        .where('sha256', 'in', digests.slice(i, i + 500))
        .groupBy('sha256')
        .execute();
      for (const r of rows) if (r.sha256) out.set(r.sha256, Number(r.n));
    }
    return out;
  }

  async retirements(digests: string[]): Promise<Map<string, { at: string; reason: string }>> {
    const out = new Map<string, { at: string; reason: string }>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('artifacts')
        .select(['sha256', 'retired_at', 'retired_reason'])
        .where('sha256', 'in', digests.slice(i, i + 500))
        .where('retired_at', 'is not', null)
        .execute();
      for (const r of rows) out.set(r.sha256, { at: r.retired_at!, reason: r.retired_reason ?? '' });
      const models = await this.db
        .selectFrom('model_retirements')
        .selectAll()
        .where('root', 'in', digests.slice(i, i + 500))
        .execute();
      for (const m of models) if (!out.has(m.root)) out.set(m.root, { at: m.retired_at, reason: m.retired_reason });
    }
    return out;
  }

  /** Every place a signed model with this OpenSSF Model Signing root digest was seen (the model's directory or prefix). */
  async modelLocations(root: string): Promise<LocationRow[]> {
    const rows = await this.db.selectFrom('models').selectAll().where('root', '=', root).orderBy('uri').execute();
    return rows.map((r) => ({
      uri: r.uri,
      sha256: r.root,
      parentUri: null,
      store: storeOf(r.uri),
      size: 0,
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
      lastScan: r.last_scan,
    }));
  }

  /**
   * Annotate a finished scan with what the inventory knows before it is scored: copies of each digest across every
   * store and scan (this scan's locations counted), and retirements.
   */
  async annotate(result: ScanResult): Promise<void> {
    const digests = [...new Set(result.artifacts.map((a) => a.sha256).filter((d): d is string => !!d))];
    const here = new Map<string, Set<string>>();
    for (const a of result.artifacts) if (a.sha256) here.set(a.sha256, (here.get(a.sha256) ?? new Set()).add(a.uri));
    // What this scan found at each location: one it read with other bytes than the inventory remembers there no longer
    // holds the remembered ones (a changed file is no copy of its old bytes), so the count is a first scan's.
    const now = new Map(result.artifacts.map((a) => [a.uri, a.sha256]));
    const knownUris = new Map<string, Set<string>>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('locations')
        .select(['sha256', 'uri'])
        .where('sha256', 'in', digests.slice(i, i + 500))
        .execute();
      for (const r of rows) {
        if (!r.sha256 || (now.has(r.uri) && now.get(r.uri) !== r.sha256)) continue;
        knownUris.set(r.sha256, (knownUris.get(r.sha256) ?? new Set()).add(r.uri));
      }
    }
    const retired = await this.retirements(digests);
    // One union per digest (many artifacts can share one: the same firmware in a hundred places).
    const count = new Map<string, number>();
    for (const d of digests) {
      const all = new Set(knownUris.get(d) ?? []);
      for (const u of here.get(d) ?? []) all.add(u);
      count.set(d, Math.max(all.size, 1));
    }
    for (const a of result.artifacts) {
      if (!a.sha256) continue;
      a.copies = count.get(a.sha256);
      const r = retired.get(a.sha256);
      if (r) a.retired = r;
    }
    // A model retired by its root digest (`retire <root>`): its signature and every file of it, wherever it is now.
    const models = modelsInScan(result);
    const roots = [...new Set(models.map((m) => m.root))];
    const retiredModels = new Map<string, { at: string; reason: string }>();
    for (let i = 0; i < roots.length; i += 500)
      for (const m of await this.db
        .selectFrom('model_retirements')
        .selectAll()
        .where('root', 'in', roots.slice(i, i + 500))
        .execute())
        retiredModels.set(m.root, { at: m.retired_at, reason: m.retired_reason });
    for (const m of models) {
      const r = retiredModels.get(m.root);
      if (r) for (const a of artifactsOfModel(result, m)) a.retired ??= r;
    }
  }

  /**
   * Record a finished scan in one transaction: a killed scan leaves the inventory exactly as it was. `scoring`: each
   * top-level group's scoring key (src/scoring/reuse.ts) and whether its exposures were carried over.
   */
  async recordScan(result: ScanResult, options: { partial?: boolean; scoring?: Map<string, { key: string; reused: boolean }> } = {}): Promise<void> {
    const now = result.scan.finishedAt;
    const summary: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, none: 0 };
    for (const a of result.artifacts) for (const f of a.findings) summary[severityOf(f)]++;
    const scoring = options.scoring ?? new Map<string, { key: string; reused: boolean }>();
    // A group carried over with its exposures holds exactly the records its last scan stored: nothing to write for it
    // but its observations, copied from that scan below.
    const unchanged = (a: ArtifactResult) => this.reused.has(a.uri) && scoring.get(topUri(a.uri))?.reused === true;
    const written = result.artifacts.filter((a) => !unchanged(a));
    /** The record hash of every artifact written, for the scorings stored beside the records. */
    const recorded = new Map<string, string>();
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('scans')
        .values({
          id: result.scan.id,
          started_at: result.scan.startedAt,
          finished_at: result.scan.finishedAt,
          status: 'complete',
          targets: JSON.stringify(result.scan.targets),
          tool_version: VERSION,
          // A scan with a narrowed detector selection is recorded, but never reused by an incremental scan.
          rules_version: rulesVersion() + (options.partial ? '+partial' : ''),
          stats: JSON.stringify(result.scan.stats),
          summary: JSON.stringify(summary),
        })
        .execute();
      // Rows per statement: 1,000 (at most 10,000 bound values, under SQLite's 32,766 and PostgreSQL's 65,535) cost a
      // quarter less client and a tenth less server time than 200 for 20,000 small files (bench/scale-out.ts' tree).
      const CHUNK = 1000;
      // One row per digest for the whole scan, not one upsert per batch: a tree holding the same bytes in many places
      // (the same certificate in every directory) would update the same rows once per batch. The class kept is the
      // last one scoring gave any of its locations, as batch after batch did.
      const digests = new Map<string, { size: number; class: string | null }>();
      for (const a of result.artifacts) {
        if (!a.sha256 || this.reused.has(a.uri)) continue;
        const d = digests.get(a.sha256);
        if (!d) digests.set(a.sha256, { size: a.size, class: a.class ?? null });
        else if (a.class) d.class = a.class;
      }
      const rows = [...digests].map(([sha256, d]) => ({
        sha256,
        size: d.size,
        class: d.class,
        first_seen: now,
        last_seen: now,
        retired_at: null,
        retired_reason: null,
      }));
      for (let i = 0; i < rows.length; i += CHUNK)
        await tx
          .insertInto('artifacts')
          .values(rows.slice(i, i + CHUNK))
          .onConflict((oc) => oc.column('sha256').doUpdateSet({ last_seen: now, class: sql`coalesce(excluded.class, artifacts.class)` }))
          .execute();
      for (let i = 0; i < written.length; i += CHUNK) {
        const batch = written.slice(i, i + CHUNK);
        // Locations reused unchanged from an earlier scan are touched set-wise below, not upserted one by one.
        const fresh = batch.filter((a) => !this.reused.has(a.uri));
        if (fresh.length)
          await tx
            .insertInto('locations')
            .values(
              fresh.map((a) => ({
                uri: a.uri,
                sha256: a.sha256,
                parent_uri: a.parent,
                store: storeOf(a.uri),
                size: a.size,
                modified: a.modified ?? null,
                etag: a.annotations?.etag ?? null,
                first_seen: now,
                last_seen: now,
                last_scan: result.scan.id,
              })),
            )
            .onConflict((oc) =>
              oc.column('uri').doUpdateSet({
                sha256: sql`excluded.sha256`,
                parent_uri: sql`excluded.parent_uri`,
                size: sql`excluded.size`,
                modified: sql`excluded.modified`,
                etag: sql`excluded.etag`,
                last_seen: sql`excluded.last_seen`,
                last_scan: sql`excluded.last_scan`,
              }),
            )
            .execute();
        const texts = batch.map((a) => JSON.stringify(storedRecord(a)));
        const hashes = texts.map((t) => createHash('sha256').update(t).digest('hex'));
        hashes.forEach((h, j) => recorded.set(batch[j].uri, h));
        const unique = new Map<string, string>();
        // A record identical to the one this location had is already stored.
        hashes.forEach((h, j) => {
          if (this.previousHash.get(batch[j].uri) !== h) unique.set(h, texts[j]);
        });
        if (unique.size)
          await tx
            .insertInto('records')
            .values([...unique].map(([hash, record]) => ({ hash, record })))
            .onConflict((oc) => oc.column('hash').doNothing())
            .execute();
        await tx
          .insertInto('observations')
          .values(batch.map((a, j) => ({ scan_id: result.scan.id, uri: a.uri, top_uri: topUri(a.uri), sha256: a.sha256, record: '', record_hash: hashes[j] })))
          .execute();
      }
      // Unchanged groups: their observations copied from the scan their records come from, set-wise in SQL.
      const from = new Map<string, string[]>();
      for (const [top, s] of scoring) {
        const prev = s.reused ? this.previous?.get(top)?.lastScan : undefined;
        if (!prev) continue;
        const tops = from.get(prev);
        if (tops) tops.push(top);
        else from.set(prev, [top]);
      }
      for (const [prev, tops] of from)
        for (let i = 0; i < tops.length; i += 500)
          await tx
            .insertInto('observations')
            .columns(['scan_id', 'uri', 'top_uri', 'sha256', 'record', 'record_hash'])
            .expression(
              tx
                .selectFrom('observations')
                .select([sql<string>`cast(${result.scan.id} as varchar(64))`.as('scan_id'), 'uri', 'top_uri', 'sha256', 'record', 'record_hash'])
                .where('scan_id', '=', prev)
                .where('top_uri', 'in', tops.slice(i, i + 500)),
            )
            .execute();
      await this.recordScorings(tx, result, scoring, recorded);
      // Signed models seen in this scan, by root digest (src/provenance/scan-models.ts).
      const models = modelsInScan(result);
      for (let i = 0; i < models.length; i += CHUNK)
        await tx
          .insertInto('models')
          .values(
            models
              .slice(i, i + CHUNK)
              .map((m) => ({ root: m.root, uri: m.uri, signature_uri: m.signatureUri, first_seen: now, last_seen: now, last_scan: result.scan.id })),
          )
          .onConflict((oc) =>
            oc
              .columns(['root', 'uri'])
              .doUpdateSet({ signature_uri: sql`excluded.signature_uri`, last_seen: sql`excluded.last_seen`, last_scan: sql`excluded.last_scan` }),
          )
          .execute();
      if (this.reused.size) {
        const seenHere = tx.selectFrom('observations').select('uri').where('scan_id', '=', result.scan.id);
        await tx
          .updateTable('locations')
          .set({ last_seen: now, last_scan: result.scan.id })
          .where('uri', 'in', seenHere)
          .where('last_scan', '!=', result.scan.id)
          .execute();
        const digestsHere = tx.selectFrom('observations').select('sha256').where('scan_id', '=', result.scan.id).where('sha256', 'is not', null);
        await tx
          .updateTable('artifacts')
          .set({ last_seen: now })
          .where('sha256', 'in', digestsHere as never)
          .where('last_seen', '!=', now)
          .execute();
      }
    });
    this.scoresCarried = result.artifacts.filter(unchanged).length;
    this.reused.clear();
    this.previousHash.clear();
    this.previousScoring.clear();
  }

  /**
   * Each scored group's key and exposure inputs (`scorings`), with the digest of the records written for it. A group
   * whose scores were carried over keeps its row: its records are the same ones.
   */
  private async recordScorings(
    tx: Kysely<InventoryTables>,
    result: ScanResult,
    scoring: Map<string, { key: string; reused: boolean }>,
    recorded: Map<string, string>,
  ): Promise<void> {
    if (!scoring.size) return;
    const groups = new Map<string, ArtifactResult[]>();
    for (const a of result.artifacts) {
      const top = topUri(a.uri);
      if (scoring.get(top)?.reused !== false) continue;
      const g = groups.get(top);
      if (g) g.push(a);
      else groups.set(top, [a]);
    }
    const scored = [...groups].map(([top, group]) => ({
      top_uri: top,
      records: recordsDigest(group.map((a) => [a.uri, recorded.get(a.uri)!])),
      key: scoring.get(top)!.key,
      inputs: JSON.stringify(Object.fromEntries(group.map((a) => [a.uri, inputsOf(a)]))),
    }));
    for (let i = 0; i < scored.length; i += 200)
      await tx
        .insertInto('scorings')
        .values(scored.slice(i, i + 200))
        .onConflict((oc) => oc.column('top_uri').doUpdateSet({ records: sql`excluded.records`, key: sql`excluded.key`, inputs: sql`excluded.inputs` }))
        .execute();
  }

  /** Every place the same bytes were seen: by digest, or by a URI whose digest is looked up first. */
  async where(query: string): Promise<{ sha256: string; kind?: 'model'; locations: LocationRow[]; retired?: { at: string; reason: string } }> {
    let digest = query.replace(/^sha256:/, '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(digest)) {
      const loc = await this.db.selectFrom('locations').select('sha256').where('uri', '=', query).executeTakeFirst();
      if (!loc?.sha256) throw new UsageError('not a sha256 digest, and no location with that URI is in the inventory', { uri: query });
      digest = loc.sha256;
    }
    const rows = await this.db.selectFrom('locations').selectAll().where('sha256', '=', digest).orderBy('uri').execute();
    const retired = (await this.retirements([digest])).get(digest);
    if (!rows.length) {
      // A model's root digest: every place the signed model was seen.
      const models = await this.modelLocations(digest);
      if (models.length) return { sha256: digest, kind: 'model', locations: models, ...(retired ? { retired } : {}) };
    }
    return {
      sha256: digest,
      locations: rows.map((r) => ({
        uri: r.uri,
        sha256: r.sha256,
        parentUri: r.parent_uri,
        store: r.store,
        size: Number(r.size),
        firstSeen: r.first_seen,
        lastSeen: r.last_seen,
        lastScan: r.last_scan,
      })),
      ...(retired ? { retired } : {}),
    };
  }

  async retire(sha256: string, reason: string, at: string): Promise<boolean> {
    const digest = sha256.replace(/^sha256:/, '').toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new UsageError(`retire: "${sha256}" is not a sha256 digest`);
    if (!reason.trim()) throw new UsageError('retire: --reason is required (say why, for the audit trail)');
    const r = await this.db.updateTable('artifacts').set({ retired_at: at, retired_reason: reason }).where('sha256', '=', digest).executeTakeFirst();
    if (Number(r.numUpdatedRows) > 0) return true;
    // A model's root digest: retired as a model (every copy, any store).
    if (!(await this.modelLocations(digest)).length) return false;
    await this.db
      .insertInto('model_retirements')
      .values({ root: digest, retired_at: at, retired_reason: reason })
      .onConflict((oc) => oc.column('root').doUpdateSet({ retired_at: at, retired_reason: reason }))
      .execute();
    return true;
  }

  async scans(limit = 50): Promise<ScanSummary[]> {
    const rows = await this.db.selectFrom('scans').selectAll().where('status', '=', 'complete').orderBy('finished_at', 'desc').limit(limit).execute();
    return rows.reverse().map((r) => ({
      id: r.id,
      startedAt: r.started_at,
      finishedAt: r.finished_at ?? r.started_at,
      targets: JSON.parse(r.targets) as string[],
      stats: JSON.parse(r.stats ?? '{"artifacts":0,"bytes":0,"findings":0,"errors":0}'),
      bySeverity: JSON.parse(r.summary ?? '{"critical":0,"high":0,"medium":0,"low":0,"none":0}'),
    }));
  }

  /** A scan id from an id, an id prefix, an ISO date (the last scan finished before it), or 'latest'/'previous'. */
  async resolveScan(ref: string | undefined, fallback: 'latest' | 'previous' = 'latest'): Promise<string> {
    const all = await this.scans(10_000);
    if (!all.length) throw new UsageError('the inventory holds no scans yet (run `shelflife scan` first)');
    const want = ref ?? fallback;
    if (want === 'latest') return all[all.length - 1].id;
    if (want === 'previous') {
      if (all.length < 2) throw new UsageError('the inventory holds only one scan: nothing to compare with');
      return all[all.length - 2].id;
    }
    const byId = all.filter((s) => s.id === want || s.id.startsWith(want));
    if (byId.length === 1) return byId[0].id;
    if (/^\d{4}-\d{2}-\d{2}/.test(want)) {
      const t = Date.parse(want);
      const before = all.filter((s) => Date.parse(s.finishedAt) <= t);
      if (before.length) return before[before.length - 1].id;
      throw new UsageError(`no scan finished before ${want}`);
    }
    throw new UsageError(byId.length > 1 ? `scan id "${want}" is ambiguous` : `no scan "${want}" in the inventory`);
  }

  /** Rebuild a recorded scan as a ScanResult (for `report --scan`). */
  async loadScan(id: string): Promise<ScanResult> {
    const s = await this.db.selectFrom('scans').selectAll().where('id', '=', id).executeTakeFirst();
    if (!s) throw new UsageError(`no scan "${id}" in the inventory`);
    const obs = await this.observationsOf([id]);
    const artifacts = obs.map((o) => o.artifact);
    const unread = unreadLocations(artifacts);
    return {
      schemaVersion: '1',
      tool: { name: 'shelflife', version: s.tool_version },
      scan: {
        id: s.id,
        startedAt: s.started_at,
        finishedAt: s.finished_at ?? s.started_at,
        targets: JSON.parse(s.targets),
        stats: JSON.parse(s.stats ?? '{}'),
        ...(unread.length ? { partial: true, unread } : {}),
      },
      artifacts,
    };
  }

  /** New, resolved and changed findings, and artifacts that disappeared, between two recorded scans. */
  async diff(fromId: string, toId: string): Promise<ScanDiff> {
    const [a, b] = await Promise.all([this.loadScan(fromId), this.loadScan(toId)]);
    const index = (r: ScanResult) => {
      const m = new Map<string, DiffEntry>();
      for (const art of r.artifacts) for (const f of art.findings) m.set(`${art.uri}\0${findingKey(f)}`, { uri: art.uri, finding: f });
      return m;
    };
    const ia = index(a);
    const ib = index(b);
    const newFindings: DiffEntry[] = [];
    const changedFindings: DiffEntry[] = [];
    for (const [k, e] of ib) {
      const before = ia.get(k);
      if (!before) newFindings.push(e);
      else if (severityOf(before.finding) !== severityOf(e.finding) || (before.finding.exposure?.score ?? 0) !== (e.finding.exposure?.score ?? 0)) {
        changedFindings.push({ ...e, before: before.finding });
      }
    }
    // What the later scan could not read is unknown to it: not resolved, not gone (issue 16 item 6). Recomputed from
    // the recorded artifacts, so scans recorded before `scan.unread` existed are read the same way.
    const unread = unreadLocations(b.artifacts);
    const unknown = (uri: string) => unread.some((u) => isWithin(uri, u.uri));
    const gone = [...ia].filter(([k]) => !ib.has(k)).map(([, e]) => e);
    const resolvedFindings = gone.filter((e) => !unknown(e.uri));
    const ua = new Set(a.artifacts.map((x) => x.uri));
    const ub = new Set(b.artifacts.map((x) => x.uri));
    const missing = [...ua].filter((u) => !ub.has(u));
    return {
      from: { id: a.scan.id, finishedAt: a.scan.finishedAt },
      to: { id: b.scan.id, finishedAt: b.scan.finishedAt },
      newFindings,
      resolvedFindings,
      changedFindings,
      newArtifacts: [...ub].filter((u) => !ua.has(u)),
      disappearedArtifacts: missing.filter((u) => !unknown(u)),
      unread,
      notCompared: { findings: gone.length - resolvedFindings.length, artifacts: missing.filter(unknown).length },
      retired: retiredPresent(b.artifacts),
      ...coverageChanges(a.artifacts, b.artifacts),
    };
  }
}

/** Of these scans, the ones made by this tool version and rule set: the only ones a rescan may carry records over from. */
export async function compatibleScans(inventory: Inventory, ids: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += 500)
    for (const r of await inventory.db
      .selectFrom('scans')
      .select('id')
      .where('id', 'in', ids.slice(i, i + 500))
      .where('tool_version', '=', VERSION)
      .where('rules_version', '=', rulesVersion())
      .execute())
      out.add(r.id);
  return out;
}

/** Identifies the rules a scan was named and scored with: a digest of every file under the bundled rules/. */
let rulesDigest: string | undefined;
function rulesVersion(): string {
  if (rulesDigest) return rulesDigest;
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else h.update(e.name).update(readFileSync(p));
    }
  };
  walk(bundledRulesDir());
  rulesDigest = h.digest('hex').slice(0, 16);
  return rulesDigest;
}

/** The URI prefix a target's artifacts have: file:///abs/path for local paths, the URI itself otherwise. */
export function targetUri(target: string): string {
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(target)) return target.startsWith('file://') ? target : target;
  return pathToFileURL(resolve(target)).href;
}

export function worstSeverity(entries: DiffEntry[]): Severity {
  let w: Severity = 'none';
  for (const e of entries) if (SEVERITIES.indexOf(severityOf(e.finding)) > SEVERITIES.indexOf(w)) w = severityOf(e.finding);
  return w;
}
