/**
 * Inventory schema, as numbered migrations written once with Kysely's schema builder, so the same code creates the
 * tables on SQLite (default) and PostgreSQL (shared inventories). A database written by an older version is brought
 * forward on open; migrations only ever add.
 * @module
 */
import { type Kysely, sql } from 'kysely';

export interface InventoryTables {
  meta: { key: string; value: string };
  scans: {
    id: string;
    started_at: string;
    finished_at: string | null;
    status: string; // 'running' | 'complete'
    targets: string; // JSON array
    tool_version: string;
    rules_version: string;
    stats: string | null; // JSON
    summary: string | null; // JSON: findings by severity, for trends
  };
  artifacts: {
    sha256: string;
    size: number;
    class: string | null;
    first_seen: string;
    last_seen: string;
    retired_at: string | null;
    retired_reason: string | null;
  };
  locations: {
    uri: string;
    sha256: string | null;
    parent_uri: string | null;
    store: string;
    size: number;
    modified: string | null;
    etag: string | null;
    first_seen: string;
    last_seen: string;
    last_scan: string;
  };
  /** What each scan saw at each location: the full artifact record (findings, exposure, errors) as JSON. */
  observations: {
    scan_id: string;
    uri: string;
    top_uri: string;
    sha256: string | null;
    /** Inline record (schema v1–2); from v3 empty, with the record in `records` under `record_hash`. */
    record: string;
    record_hash: string | null;
  };
  /** Content-addressed artifact records: an unchanged artifact rescanned stores no new record. */
  records: { hash: string; record: string };
  /**
   * Per top-level location, the scoring key its last scoring ran under and the inputs behind its exposures (the records
   * hold the rest), with a digest of the records (`recordsDigest`) that scoring wrote for it and its members.
   */
  scorings: { top_uri: string; records: string; key: string; inputs: string };
  /** Models by their OpenSSF Model Signing root digest: every place a signed model was seen (src/provenance). */
  models: { root: string; uri: string; signature_uri: string; first_seen: string; last_seen: string; last_scan: string };
  /** Retirements of models, by root digest (`retire <root digest>`). */
  model_retirements: { root: string; retired_at: string; retired_reason: string };
  /** Distributed scans (src/queue/): each work unit done, with what it read; cleared when the scan is recorded. */
  scan_units: { scan_id: string; unit_id: string; uri: string; bytes: number; artifacts: number; done_at: string };
  /** What the units found, staged until the finalize step records the scan: one row per artifact URI (or problem). */
  scan_parts: { scan_id: string; part_key: string; unit_id: string; kind: string; record: string };
  /** Hosts that answered 429: no worker starts a unit on one before `until` (epoch ms), whichever worker was told. */
  host_pauses: { host: string; until: number };
}

export interface Migration {
  version: number;
  description: string;
  up(db: Kysely<InventoryTables>): Promise<void>;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'scans, artifacts by sha256, locations, per-scan observations',
    async up(db) {
      await db.schema
        .createTable('meta')
        .ifNotExists()
        .addColumn('key', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('scans')
        .ifNotExists()
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('started_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('finished_at', 'varchar(32)')
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('targets', 'text', (c) => c.notNull())
        .addColumn('tool_version', 'varchar(32)', (c) => c.notNull())
        .addColumn('rules_version', 'varchar(64)', (c) => c.notNull())
        .addColumn('stats', 'text')
        .execute();
      await db.schema
        .createTable('artifacts')
        .ifNotExists()
        .addColumn('sha256', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('class', 'varchar(64)')
        .addColumn('first_seen', 'varchar(32)', (c) => c.notNull())
        .addColumn('last_seen', 'varchar(32)', (c) => c.notNull())
        .addColumn('retired_at', 'varchar(32)')
        .addColumn('retired_reason', 'text')
        .execute();
      await db.schema
        .createTable('locations')
        .ifNotExists()
        .addColumn('uri', 'varchar(2048)', (c) => c.primaryKey())
        .addColumn('sha256', 'varchar(64)')
        .addColumn('parent_uri', 'varchar(2048)')
        .addColumn('store', 'varchar(16)', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('modified', 'varchar(32)')
        .addColumn('etag', 'varchar(256)')
        .addColumn('first_seen', 'varchar(32)', (c) => c.notNull())
        .addColumn('last_seen', 'varchar(32)', (c) => c.notNull())
        .addColumn('last_scan', 'varchar(64)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('locations_sha256').ifNotExists().on('locations').column('sha256').execute();
      await db.schema
        .createTable('observations')
        .ifNotExists()
        .addColumn('scan_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('uri', 'varchar(2048)', (c) => c.notNull())
        .addColumn('top_uri', 'varchar(2048)', (c) => c.notNull())
        .addColumn('sha256', 'varchar(64)')
        .addColumn('record', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('observations_pk', ['scan_id', 'uri'])
        .execute();
      await db.schema.createIndex('observations_top').ifNotExists().on('observations').columns(['top_uri', 'scan_id']).execute();
    },
  },
  {
    version: 2,
    description: 'per-scan severity summary for trend charts',
    async up(db) {
      await db.schema.alterTable('scans').addColumn('summary', 'text').execute();
    },
  },
  {
    version: 3,
    description: 'content-addressed records, so rescans of unchanged artifacts write only a reference',
    async up(db) {
      await db.schema
        .createTable('records')
        .ifNotExists()
        .addColumn('hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('record', 'text', (c) => c.notNull())
        .execute();
      await db.schema.alterTable('observations').addColumn('record_hash', 'varchar(64)').execute();
    },
  },
  {
    version: 4,
    description: 'models by OpenSSF Model Signing root digest, and their retirements',
    async up(db) {
      await db.schema
        .createTable('models')
        .ifNotExists()
        .addColumn('root', 'varchar(64)', (c) => c.notNull())
        .addColumn('uri', 'varchar(2048)', (c) => c.notNull())
        .addColumn('signature_uri', 'varchar(2048)', (c) => c.notNull())
        .addColumn('first_seen', 'varchar(32)', (c) => c.notNull())
        .addColumn('last_seen', 'varchar(32)', (c) => c.notNull())
        .addColumn('last_scan', 'varchar(64)', (c) => c.notNull())
        .addPrimaryKeyConstraint('models_pk', ['root', 'uri'])
        .execute();
      await db.schema
        .createTable('model_retirements')
        .ifNotExists()
        .addColumn('root', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('retired_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('retired_reason', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 5,
    description: 'distributed scans: work units done and what they found, staged until the scan is finalized; hosts paused by a 429',
    async up(db) {
      await db.schema
        .createTable('scan_units')
        .ifNotExists()
        .addColumn('scan_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('unit_id', 'varchar(160)', (c) => c.notNull())
        .addColumn('uri', 'varchar(2048)', (c) => c.notNull())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('artifacts', 'integer', (c) => c.notNull())
        .addColumn('done_at', 'varchar(32)', (c) => c.notNull())
        .addPrimaryKeyConstraint('scan_units_pk', ['scan_id', 'unit_id'])
        .execute();
      await db.schema
        .createTable('scan_parts')
        .ifNotExists()
        .addColumn('scan_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('part_key', 'varchar(2200)', (c) => c.notNull())
        .addColumn('unit_id', 'varchar(160)', (c) => c.notNull())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('scan_parts_pk', ['scan_id', 'part_key'])
        .execute();
      await db.schema.createIndex('scan_parts_unit').ifNotExists().on('scan_parts').columns(['scan_id', 'unit_id']).execute();
      await db.schema
        .createTable('host_pauses')
        .ifNotExists()
        .addColumn('host', 'varchar(512)', (c) => c.primaryKey())
        .addColumn('until', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 6,
    description: "each location's scoring key and exposure inputs, so an unchanged rescan under the same scoring context carries its exposures over",
    async up(db) {
      await db.schema
        .createTable('scorings')
        .ifNotExists()
        .addColumn('top_uri', 'varchar(2048)', (c) => c.primaryKey())
        .addColumn('records', 'varchar(64)', (c) => c.notNull())
        .addColumn('key', 'varchar(64)', (c) => c.notNull())
        .addColumn('inputs', 'text', (c) => c.notNull())
        .execute();
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Bring the database to `target` (default: latest), one migration per transaction. */
export async function migrate(db: Kysely<InventoryTables>, target = SCHEMA_VERSION): Promise<number> {
  await db.schema
    .createTable('meta')
    .ifNotExists()
    .addColumn('key', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  const row = await db.selectFrom('meta').select('value').where('key', '=', 'schema_version').executeTakeFirst();
  let current = row ? Number(row.value) : 0;
  if (current > SCHEMA_VERSION) {
    throw new Error(`inventory schema version ${current} is newer than this shelflife understands (${SCHEMA_VERSION}); upgrade shelflife`);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current || m.version > target) continue;
    await db.transaction().execute(async (tx) => {
      await m.up(tx);
      await tx
        .insertInto('meta')
        .values({ key: 'schema_version', value: String(m.version) })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: String(m.version) }))
        .execute();
    });
    current = m.version;
  }
  return current;
}

export { sql };
