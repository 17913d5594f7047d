/**
 * `queue retry` of a unit that failed after its scan was recorded: once the unit is done, the recorded scan is amended.
 * The record goes back into staging beside the unit's rows (src/inventory/staging.ts `restageScan`), without the error
 * that said the unit was given up, and the scan is finalized again under its own id: the unit's artifacts appear, the
 * failure leaves the scan's errors, and its partial flag, stats and summary follow (src/scan/finish.ts).
 *
 * Amendments of one scan are serialized across workers (a PostgreSQL advisory lock on a session of their own), and a
 * worker that dies between restaging and recording leaves the staged rows: the unit is delivered again and the next
 * amendment finds them and records the scan.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import { clearDerived, type Inventory } from '../inventory/inventory.js';
import { isStaged, restageScan } from '../inventory/staging.js';
import type { ArtifactResult, ScanResult } from '../model.js';
import { finalizeScan, scoringFromSpec } from './finalize.js';
import { finalizeJobId, type FinalizeJobData, type ScanSpec } from './jobs.js';

/** The staged unit a recorded scan's artifacts go back into while it is amended. */
export const RECORDED_UNIT = 'recorded';

async function isRecorded(inventory: Inventory, scanId: string): Promise<boolean> {
  return !!(await inventory.db.selectFrom('scans').select('id').where('id', '=', scanId).executeTakeFirst());
}

/**
 * After a unit of `spec` was staged: amend the scan if it was already recorded (or an amendment was cut short).
 * Returns the amended scan, or undefined when the scan is still running (the normal case: the finalize step comes).
 */
export async function amendIfRecorded(inventory: Inventory, queue: Queue, spec: ScanSpec, jobId: string): Promise<ScanResult | undefined> {
  if (!(await isRecorded(inventory, spec.scanId)) && !(await isStaged(inventory, spec.scanId, RECORDED_UNIT))) return undefined;
  return withScanLock(inventory, spec.scanId, async () => {
    if (await isRecorded(inventory, spec.scanId)) {
      const recorded = await inventory.loadScan(spec.scanId);
      await restageScan(
        inventory,
        spec.scanId,
        {
          unitId: RECORDED_UNIT,
          uri: spec.targets[0] ?? '',
          results: withoutFailure(recorded.artifacts, jobId),
          bytes: recorded.scan.stats.bytes,
          reused: recorded.scan.stats.reused ?? 0,
        },
        new Date().toISOString(),
      );
    } else if (!(await isStaged(inventory, spec.scanId, RECORDED_UNIT))) {
      // Another worker amended it between the check and the lock.
      return inventory.loadScan(spec.scanId);
    }
    // The scoring the scan was recorded with: the finalize job's (kept a week). Provenance options stay with the
    // producer that ran the first finalize (docs/scale-out.md).
    const finalize = await queue.getJob(finalizeJobId(spec.scanId));
    const scoring = finalize ? scoringFromSpec((finalize.data as FinalizeJobData).scoring) : {};
    return finalizeScan(inventory, spec, { scoring, failed: [], finishedAt: new Date().toISOString() });
  });
}

/**
 * The recorded artifacts without the error that gave up this unit (`… (queue job <id>): …`), an artifact made only to
 * carry it dropped, and what the finish step derives cleared (it is derived again).
 */
function withoutFailure(artifacts: ArtifactResult[], jobId: string): ArtifactResult[] {
  const marker = `(queue job ${jobId})`;
  const out: ArtifactResult[] = [];
  for (const a of artifacts) {
    const before = a.errors.length;
    a.errors = a.errors.filter((e) => !(e.source === 'source' && e.message.includes(marker)));
    const stub = a.parent === null && a.sha256 === null && a.size === 0 && !a.skipped && !a.findings.length;
    if (before !== a.errors.length && stub && !a.errors.length) continue;
    out.push(a);
  }
  clearDerived(out);
  return out;
}

/** Run `fn` holding the scan's amendment lock (PostgreSQL: an advisory lock on a session of its own). */
async function withScanLock<T>(inventory: Inventory, scanId: string, fn: () => Promise<T>): Promise<T> {
  if (inventory.dialect !== 'postgres') return fn();
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: inventory.location });
  // A session lost while amending frees the lock on the server; the amendment's own statements fail and are retried.
  client.on('error', () => {});
  await client.connect();
  try {
    const key = createHash('sha256').update(`shelflife-amend:${scanId}`).digest();
    await client.query('SELECT pg_advisory_lock($1, $2)', [key.readInt32BE(0), key.readInt32BE(4)]);
    return await fn();
  } finally {
    // Ending the session releases the lock.
    await client.end();
  }
}
