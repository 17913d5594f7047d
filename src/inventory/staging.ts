/**
 * Distributed scans (src/queue/): each worker stages what its unit found in the shared inventory, in one transaction
 * per unit, before the queue is told the unit is done. A unit delivered again (a worker died after the write, before
 * the acknowledgement) replaces its own rows: nothing is written twice. The finalize step reads every unit's rows
 * back, records the scan like any other (src/scan/finish.ts), and clears them.
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ArtifactResult } from '../model.js';
import type { SourceProblem } from '../sources/types.js';
import type { Inventory } from './inventory.js';

export interface StagedUnit {
  unitId: string;
  uri: string;
  results: ArtifactResult[];
  problems: SourceProblem[];
  bytes: number;
  /** Records carried over unchanged from an earlier scan (incremental units). */
  reused?: number;
  evidence?: ReadonlyMap<string, Uint8Array>;
}

export interface StagedScan {
  results: ArtifactResult[];
  problems: SourceProblem[];
  bytes: number;
  units: number;
  reused: number;
  evidence: Map<string, Uint8Array>;
}

const CHUNK = 200;
/** The kind of a unit's marker row: one per delivery that staged it. */
const STAGE = 'stage';

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** One row per artifact URI across the whole scan (the same URI from two units is one artifact), one per problem. */
function artifactKey(uri: string): string {
  return uri.length > 2000 ? `a#${hash(uri)}` : `a ${uri}`;
}

function problemKey(p: SourceProblem): string {
  return `p ${hash(`${p.uri}\n${p.code}\n${p.message}`)}`;
}

/**
 * A unit's rows: one per artifact, problem and evidence object, the count of records it carried over, and its marker
 * row (which delivery staged them: a reader that took them while the scan ran, StagedReader, reads a unit again only
 * when this changed).
 */
function partRows(scanId: string, unit: Omit<StagedUnit, 'uri' | 'bytes'>) {
  const row = (part_key: string, kind: string, record: unknown) => ({ scan_id: scanId, part_key, unit_id: unit.unitId, kind, record: JSON.stringify(record) });
  return [
    ...unit.results.map((r) => row(artifactKey(r.uri), 'artifact', r)),
    ...unit.problems.map((p) => row(problemKey(p), 'problem', p)),
    ...[...(unit.evidence ?? [])].map(([uri, bytes]) =>
      row(`e${artifactKey(uri).slice(1)}`, 'evidence', { uri, bytes: Buffer.from(bytes).toString('base64') }),
    ),
    ...(unit.reused ? [row(`r ${unit.unitId}`, 'reused', unit.reused)] : []),
    row(`s ${unit.unitId}`, STAGE, randomUUID()),
  ];
}

/** Stage one unit's results: its earlier rows (an earlier delivery) replaced, all in one transaction. */
export async function stageUnit(inventory: Inventory, scanId: string, unit: StagedUnit, doneAt: string): Promise<void> {
  await inventory.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('scan_parts').where('scan_id', '=', scanId).where('unit_id', '=', unit.unitId).execute();
    const rows = partRows(scanId, unit);
    for (let i = 0; i < rows.length; i += CHUNK)
      await tx
        .insertInto('scan_parts')
        .values(rows.slice(i, i + CHUNK))
        .onConflict((oc) =>
          oc.columns(['scan_id', 'part_key']).doUpdateSet((eb) => ({ unit_id: eb.ref('excluded.unit_id'), record: eb.ref('excluded.record') })),
        )
        .execute();
    await tx
      .insertInto('scan_units')
      .values({ scan_id: scanId, unit_id: unit.unitId, uri: unit.uri, bytes: unit.bytes, artifacts: unit.results.length, done_at: doneAt })
      .onConflict((oc) =>
        oc
          .columns(['scan_id', 'unit_id'])
          .doUpdateSet((eb) => ({ bytes: eb.ref('excluded.bytes'), artifacts: eb.ref('excluded.artifacts'), done_at: eb.ref('excluded.done_at') })),
      )
      .execute();
  });
}

/** Units done so far and the artifacts they found (progress). */
export async function stagedProgress(inventory: Inventory, scanId: string): Promise<{ units: number; artifacts: number }> {
  const r = await inventory.db
    .selectFrom('scan_units')
    .select((eb) => [eb.fn.countAll<number>().as('units'), eb.fn.sum<number>('artifacts').as('artifacts')])
    .where('scan_id', '=', scanId)
    .executeTakeFirst();
  return { units: Number(r?.units ?? 0), artifacts: Number(r?.artifacts ?? 0) };
}

/** Everything the units of a scan staged. */
export async function loadStaged(inventory: Inventory, scanId: string): Promise<StagedScan> {
  return new StagedReader(inventory, scanId).load();
}

interface Part {
  unit: string;
  kind: string;
  value: ArtifactResult | SourceProblem | number | { uri: string; bytes: Uint8Array } | string;
}

/**
 * The staged rows of one scan, read while its units still run (`catchUp()`, by the waiting producer between two
 * polls), so the finalize step does not read and parse every artifact after the last unit: it reads only the units
 * staged since, and checks every row's owner against the table. A unit delivered again is read again (its marker row
 * changed); a URI another unit staged since belongs to that unit, as in the table. `load()` gives exactly what one
 * read of the table after the last unit gives.
 */
export class StagedReader {
  private readonly parts = new Map<string, Part>();
  /** The marker each read unit had when its rows were read. */
  private readonly stages = new Map<string, string>();
  /** Unit reads so far (a unit read again counts again). */
  unitsRead = 0;

  constructor(
    private readonly inventory: Inventory,
    private readonly scanId: string,
  ) {}

  /** Read the units staged (or staged again) since the last call. */
  async catchUp(): Promise<void> {
    const markers = await this.inventory.db
      .selectFrom('scan_parts')
      .select(['unit_id', 'record'])
      .where('scan_id', '=', this.scanId)
      .where('kind', '=', STAGE)
      .execute();
    await this.readUnits(markers.filter((m) => this.stages.get(m.unit_id) !== m.record).map((m) => m.unit_id));
  }

  /** Everything staged: the units not read yet, and every row checked against the table (its order too). */
  async load(): Promise<StagedScan> {
    await this.catchUp();
    const keys = await this.inventory.db
      .selectFrom('scan_parts')
      .select(['part_key', 'unit_id'])
      .where('scan_id', '=', this.scanId)
      .orderBy('part_key')
      .execute();
    // Rows of units with no marker (an amended scan's restaged record) or owned by another unit than read: read again.
    const stale = new Set(keys.filter((k) => this.parts.get(k.part_key)?.unit !== k.unit_id).map((k) => k.unit_id));
    await this.readUnits([...stale]);
    const results: ArtifactResult[] = [];
    const problems: SourceProblem[] = [];
    const evidence = new Map<string, Uint8Array>();
    let reused = 0;
    for (const k of keys) {
      const p = this.parts.get(k.part_key);
      // A row staged between the two reads (a late second delivery of a unit): read with its unit next time; the
      // table holds the same findings twice at most, never half a unit.
      if (!p) continue;
      if (p.kind === 'artifact') results.push(p.value as ArtifactResult);
      else if (p.kind === 'reused') reused += p.value as number;
      else if (p.kind === 'evidence') {
        const e = p.value as { uri: string; bytes: Uint8Array };
        evidence.set(e.uri, e.bytes);
      } else if (p.kind === 'problem') problems.push(p.value as SourceProblem);
    }
    const u = await this.inventory.db
      .selectFrom('scan_units')
      .select((eb) => [eb.fn.countAll<number>().as('units'), eb.fn.sum<number>('bytes').as('bytes')])
      .where('scan_id', '=', this.scanId)
      .executeTakeFirst();
    return { results, problems, evidence, reused, bytes: Number(u?.bytes ?? 0), units: Number(u?.units ?? 0) };
  }

  /** Read these units' rows, each unit in one statement (one snapshot: its rows and its marker agree). */
  private async readUnits(units: string[]): Promise<void> {
    for (let i = 0; i < units.length; i += 100) {
      const batch = units.slice(i, i + 100);
      const rows = await this.inventory.db
        .selectFrom('scan_parts')
        .select(['part_key', 'unit_id', 'kind', 'record'])
        .where('scan_id', '=', this.scanId)
        .where('unit_id', 'in', batch)
        .execute();
      this.unitsRead += batch.length;
      const read = new Set(batch);
      // What these units owned before is replaced by what they own now.
      for (const [key, p] of this.parts) if (read.has(p.unit)) this.parts.delete(key);
      for (const u of batch) this.stages.delete(u);
      for (const r of rows) {
        if (r.kind === STAGE) this.stages.set(r.unit_id, r.record);
        this.parts.set(r.part_key, { unit: r.unit_id, kind: r.kind, value: r.kind === STAGE ? r.record : parsePart(r.kind, r.record) });
      }
    }
  }
}

function parsePart(kind: string, record: string): Part['value'] {
  if (kind === 'evidence') {
    const e = JSON.parse(record) as { uri: string; bytes: string };
    return { uri: e.uri, bytes: new Uint8Array(Buffer.from(e.bytes, 'base64')) };
  }
  if (kind === 'reused') return Number(JSON.parse(record));
  return JSON.parse(record) as ArtifactResult | SourceProblem;
}

/** Once the scan is recorded, its staged rows go (the observations hold what it found). */
export async function clearStaged(inventory: Inventory, scanId: string): Promise<void> {
  await inventory.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('scan_parts').where('scan_id', '=', scanId).execute();
    await tx.deleteFrom('scan_units').where('scan_id', '=', scanId).execute();
  });
}

/** Has this unit of the scan staged rows (done, not yet recorded)? */
export async function isStaged(inventory: Inventory, scanId: string, unitId: string): Promise<boolean> {
  return !!(await inventory.db.selectFrom('scan_units').select('unit_id').where('scan_id', '=', scanId).where('unit_id', '=', unitId).executeTakeFirst());
}

/**
 * A recorded scan back into staging, to be finalized again with what a retried unit found (src/queue/amend.ts): its
 * artifacts staged as one unit (`unitId`) beside the rows staged since, which win for a URI both hold, and the record
 * removed, in one transaction (a crash leaves either the record or everything needed to record it again).
 */
export async function restageScan(
  inventory: Inventory,
  scanId: string,
  unit: { unitId: string; uri: string; results: ArtifactResult[]; bytes: number; reused: number },
  doneAt: string,
): Promise<void> {
  await inventory.db.transaction().execute(async (tx) => {
    const rows = partRows(scanId, { ...unit, problems: [] });
    for (let i = 0; i < rows.length; i += CHUNK)
      await tx
        .insertInto('scan_parts')
        .values(rows.slice(i, i + CHUNK))
        .onConflict((oc) => oc.columns(['scan_id', 'part_key']).doNothing())
        .execute();
    await tx
      .insertInto('scan_units')
      .values({ scan_id: scanId, unit_id: unit.unitId, uri: unit.uri, bytes: unit.bytes, artifacts: unit.results.length, done_at: doneAt })
      .onConflict((oc) => oc.columns(['scan_id', 'unit_id']).doNothing())
      .execute();
    await tx.deleteFrom('observations').where('scan_id', '=', scanId).execute();
    await tx.deleteFrom('scans').where('id', '=', scanId).execute();
  });
}
