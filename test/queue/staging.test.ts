/**
 * The staged rows of a distributed scan read while its units run (StagedReader, src/inventory/staging.ts): whatever
 * was read early, and whatever was staged again or taken over since, the finalize step gets exactly what one read of
 * the table after the last unit gives. On SQLite, and on the test setup's PostgreSQL when it runs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import { loadStaged, restageScan, StagedReader, stageUnit } from '../../src/inventory/staging.js';
import type { ArtifactResult } from '../../src/model.js';
import { requirePrerequisite } from '../helpers/prerequisites.js';
import { freshDatabase } from '../helpers/queue.js';

const postgres = inject('postgres');

const art = (uri: string, note: string): ArtifactResult => ({
  uri,
  parent: null,
  sha256: null,
  size: note.length,
  findings: [],
  errors: [],
  annotations: { note },
});

/** The table read directly, in its own order: the oracle. */
async function table(inventory: Inventory, scanId: string) {
  const rows = await inventory.db.selectFrom('scan_parts').select(['kind', 'record']).where('scan_id', '=', scanId).orderBy('part_key').execute();
  return {
    artifacts: rows.filter((r) => r.kind === 'artifact').map((r) => JSON.parse(r.record) as ArtifactResult),
    problems: rows.filter((r) => r.kind === 'problem').map((r) => JSON.parse(r.record) as unknown),
    reused: rows.filter((r) => r.kind === 'reused').reduce((n, r) => n + Number(JSON.parse(r.record)), 0),
  };
}

describe.each([
  { backend: 'sqlite', db: async () => join(mkdtempSync(join(tmpdir(), 'shelflife-staging-')), 'inventory.db'), missing: undefined },
  { backend: 'postgres', db: async () => freshDatabase(postgres.url!), missing: !postgres.url && (postgres.reason ?? 'no PostgreSQL') },
])('staged rows read while the units run, on $backend', ({ db, missing }) => {
  it('give exactly the table after the last unit: units staged again, URIs taken over, a restaged record', async (ctx) => {
    requirePrerequisite(ctx, missing);
    const inventory = await Inventory.open(await db());
    try {
      const scanId = 'scan-1';
      const at = '2026-06-01T00:00:00Z';
      const reader = new StagedReader(inventory, scanId);
      await stageUnit(
        inventory,
        scanId,
        { unitId: 'a', uri: 'file:///t/a', results: [art('file:///t/a/1', 'a1'), art('file:///t/a/2', 'a2')], problems: [], bytes: 4 },
        at,
      );
      await stageUnit(
        inventory,
        scanId,
        {
          unitId: 'b',
          uri: 'file:///t/b',
          results: [art('file:///t/b/1', 'b1')],
          problems: [{ uri: 'file:///t/b/x', code: 'io', message: 'unreadable' }],
          bytes: 2,
          reused: 1,
        },
        at,
      );
      await reader.catchUp();
      // Unit a delivered again, finding other content; unit c stages a URI unit b staged (two overlapping targets).
      await stageUnit(inventory, scanId, { unitId: 'a', uri: 'file:///t/a', results: [art('file:///t/a/1', 'a1 again')], problems: [], bytes: 8 }, at);
      await stageUnit(
        inventory,
        scanId,
        { unitId: 'c', uri: 'file:///t', results: [art('file:///t/b/1', 'b1 seen by c'), art('file:///t/c', 'c')], problems: [], bytes: 3 },
        at,
      );
      await reader.catchUp();
      // Unit b again: its artifact now belongs to c and stays c's.
      await stageUnit(
        inventory,
        scanId,
        { unitId: 'b', uri: 'file:///t/b', results: [], problems: [{ uri: 'file:///t/b/x', code: 'io', message: 'unreadable' }], bytes: 0, reused: 2 },
        at,
      );
      // Rows with no unit marker (an amended scan's restaged record) are read too.
      await restageScan(
        inventory,
        scanId,
        { unitId: 'recorded', uri: 'file:///t', results: [art('file:///t/old', 'recorded before')], bytes: 1, reused: 0 },
        at,
      );

      const early = await reader.load();
      const late = await loadStaged(inventory, scanId);
      const t = await table(inventory, scanId);
      expect(early.results).toEqual(t.artifacts);
      expect(early.results.map((r) => r.annotations?.note)).toEqual(['a1 again', 'b1 seen by c', 'c', 'recorded before']);
      expect(early.problems).toEqual(t.problems);
      expect(early.reused).toBe(t.reused);
      expect(early.reused).toBe(2);
      expect(early).toEqual(late);
      expect(early.units).toBe(4);
      // Read as they came: a, b; a again and c; b again and the restaged record at the end. Nothing read twice unchanged.
      expect(reader.unitsRead).toBe(6);
      expect(early.bytes).toBe(8 + 0 + 3 + 1);
    } finally {
      await inventory.close();
    }
  }, 60_000);
});
