/**
 * A distributed scan answers like a one-process scan beyond the first scan of a tree, on the real servers
 * (PostgreSQL for the inventory and the queue, `shelflife worker` processes): signed models' provenance with
 * `--trust`/`--evidence`, a rescan of an unchanged tree, which reuses what the previous scan recorded, and a failed
 * unit retried after the scan was recorded (`queue retry`), which amends the record.
 */
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import { loadTrust } from '../../src/provenance/trust.js';
import { Queue } from 'bullmq';
import { retryFailed } from '../../src/queue/admin.js';
import { queueConnection } from '../../src/queue/connection.js';
import { finalizeJobId, UNIT_JOB, unitJobOptions, type UnitJobData } from '../../src/queue/jobs.js';
import { awaitScan, distributedScan, enqueueScan } from '../../src/queue/producer.js';
import { fileUri } from '../../src/sources/fs.js';
import { scan } from '../../src/scan/scan.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { freshDatabase, redactedReport, startWorkerProcess, stopWorker, uniqueQueueName, type WorkerProcess } from '../helpers/queue.js';

const postgres = inject('postgres');
const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
const P = join(FIXTURES, 'provenance');
const now = () => new Date('2026-06-01T00:00:00Z');
const WORK = mkdtempSync(join(tmpdir(), 'shelflife-queue-rescan-'));
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

const workers: WorkerProcess[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map(stopWorker));
});

async function startWorkers(db: string, queueName: string, n = 2): Promise<void> {
  for (let i = 0; i < n; i++) workers.push(await startWorkerProcess(['--queue', db, '--queue-name', queueName, '--db', db]));
}

describe('distributed scans with signed models (queue on PostgreSQL)', () => {
  requirePrerequisiteForAll(!postgres.url && postgres.reason);

  it('--trust and --evidence reach the finalize step: the report equals the one-process report', async () => {
    const good = join(WORK, 'models', 'good');
    const bad = join(WORK, 'models', 'bad');
    cpSync(join(P, 'models', 'hf-model'), good, { recursive: true });
    cpSync(join(P, 'models', 'hf-model'), bad, { recursive: true });
    appendFileSync(join(bad, 'model.gguf'), 'tampered');
    const targets = [good, bad];
    const provenance = { trust: loadTrust(join(P, 'trust.yaml')), evidence: [join(P, 'evidence', 'hf-model')] };

    const db = await freshDatabase(postgres.url!);
    const queueName = uniqueQueueName();
    await startWorkers(db, queueName);
    const inventory = await Inventory.open(db);
    const distributed = await distributedScan({ queue: db, queueName, targets, inventory, now, provenance, progressMs: 100 });
    await inventory.close();

    const single = await Inventory.open(await freshDatabase(postgres.url!));
    const one = await scan({ targets, inventory: single, now, full: true, provenance });
    await single.close();

    const models = Object.fromEntries((distributed.models ?? []).map((m) => [m.uri.replace(/\/$/, '').split('/').pop(), m]));
    expect(Object.keys(models).sort()).toEqual(['bad', 'good']);
    // Only the trust file makes the approval verifiable, and only the evidence directory holds the evaluation.
    expect(models.good.provenance).toMatchObject({
      approval: { grade: 'signed-verified', approved: true },
      evaluation: { grade: 'signed-verified', result: 'PASSED' },
    });
    expect(models.bad.provenance?.integrity.status).not.toBe('verified');
    expect(redactedReport(distributed)).toBe(redactedReport(one));
  }, 300_000);

  it('refuses --trust/--evidence for a detached scan (a worker finalizes it and cannot read them)', async () => {
    const db = await freshDatabase(postgres.url!);
    const inventory = await Inventory.open(db);
    try {
      await expect(
        enqueueScan(
          { queue: db, queueName: uniqueQueueName(), targets: [join(P, 'models', 'hf-model')], inventory, provenance: { evidence: [join(P, 'evidence')] } },
          'worker',
        ),
      ).rejects.toThrow(/--trust and --evidence.*detached/);
    } finally {
      await inventory.close();
    }
  });
});

describe('a distributed rescan (queue on PostgreSQL)', () => {
  requirePrerequisiteForAll(!postgres.url && postgres.reason);

  it('carries over what is unchanged, as a one-process rescan does: the same report, one changed file read again', async () => {
    const tree = join(WORK, 'rescan');
    cpSync(join(FIXTURES, 'core'), join(tree, 'core'), { recursive: true });
    cpSync(join(FIXTURES, 'coverage', 'tree'), join(tree, 'coverage'), { recursive: true });
    const targets = [tree];
    // Small units: the rescan's carry-over is looked up unit by unit.
    const sourceOptions = { unitEntries: 4 };

    const oneDb = await Inventory.open(await freshDatabase(postgres.url!));
    const db = await freshDatabase(postgres.url!);
    const queueName = uniqueQueueName();
    await startWorkers(db, queueName);
    const inventory = await Inventory.open(db);
    try {
      const first = await scan({ targets, inventory: oneDb, now, sourceOptions });
      const firstDistributed = await distributedScan({ queue: db, queueName, targets, inventory, now, sourceOptions, progressMs: 100 });
      expect(redactedReport(firstDistributed)).toBe(redactedReport(first));
      expect(first.scan.stats.reused).toBe(0);

      // One file changes (new bytes, new size and mtime), one appears; the rest is as the first scans left it.
      writeFileSync(join(tree, 'core', 'random.bin'), 'changed since the first scan\n');
      writeFileSync(join(tree, 'core', 'new.txt'), 'new since the first scan\n');
      const again = await scan({ targets, inventory: oneDb, now, sourceOptions });
      const againDistributed = await distributedScan({ queue: db, queueName, targets, inventory, now, sourceOptions, progressMs: 100 });

      const top = first.artifacts.filter((a) => a.parent === null && !a.skipped).length;
      // Every unchanged top-level artifact was carried over (with its members), the changed and the new one read.
      expect(again.scan.stats.reused).toBeGreaterThan(top / 2);
      expect(again.scan.stats.reused).toBeLessThan(again.artifacts.length);
      expect(again.artifacts.find((a) => a.uri.endsWith('/core/random.bin'))?.size).toBe('changed since the first scan\n'.length);
      expect(redactedReport(againDistributed)).toBe(redactedReport(again));

      // --full reads everything again, in both modes.
      const full = await scan({ targets, inventory: oneDb, now, sourceOptions, full: true });
      const fullDistributed = await distributedScan({ queue: db, queueName, targets, inventory, now, sourceOptions, full: true, progressMs: 100 });
      expect(full.scan.stats.reused).toBe(0);
      expect(redactedReport(fullDistributed)).toBe(redactedReport(full));
    } finally {
      await inventory.close();
      await oneDb.close();
    }
  }, 300_000);
});

describe('queue retry after a scan was recorded (queue on PostgreSQL)', () => {
  requirePrerequisiteForAll(!postgres.url && postgres.reason);

  it("amends the recorded scan: the unit's artifacts appear, its failure and the partial flag go", async () => {
    const tree = join(WORK, 'retry', 'tree');
    cpSync(join(FIXTURES, 'core'), tree, { recursive: true });
    // A directory a unit names, missing when the scan runs (a mount not there yet): that unit fails, for now.
    const late = join(WORK, 'retry', 'late');
    const db = await freshDatabase(postgres.url!);
    const queueName = uniqueQueueName();
    const inventory = await Inventory.open(db);
    const options = { queue: db, queueName, targets: [tree], inventory, now, retry: { attempts: 2, backoffMs: 50 } };
    const spec = await enqueueScan(options, 'producer');
    const c = await queueConnection(db, queueName);
    const q = new Queue(queueName, { connection: c.connection as never }, c.factory as never);
    const lateUnit: UnitJobData = {
      spec,
      target: late,
      unit: { uri: fileUri(late), part: { dirs: [{ abs: late, rel: '', outside: false, from: 0, to: null }] } },
    };
    await q.add(UNIT_JOB, lateUnit, {
      ...unitJobOptions(`${spec.scanId}-late`, options.retry),
      parent: { id: finalizeJobId(spec.scanId), queue: q.qualifiedName },
    });
    await startWorkers(db, queueName, 1);
    try {
      const first = await awaitScan(options, spec);
      expect(first.scan.partial).toBe(true);
      expect(first.artifacts.find((a) => a.uri === fileUri(late))?.errors[0].message).toMatch(
        /^work unit failed 2 times and was given up \(queue job .*-late\)/,
      );

      // The directory is there now; the operator retries the failed units.
      cpSync(join(FIXTURES, 'pki', 'certs'), late, { recursive: true });
      expect(await retryFailed(db, queueName)).toBe(1);
      // The worker says so once the amended record is committed. (Read before that, the scan can be between its
      // restaging and its new record: absent, or its row read before its observations were removed.)
      for (let i = 0; i < 600 && !workers[0].log().includes(`scan ${spec.scanId} amended`); i++) await new Promise((r) => setTimeout(r, 100));
      expect(workers[0].log()).toContain(`scan ${spec.scanId} amended with ${fileUri(late)}`);
      const amended = await inventory.loadScan(spec.scanId);
      expect(amended.scan.id).toBe(spec.scanId);
      expect(amended.scan.partial).toBeUndefined();

      // What one process finds in the tree and that directory (its top level: what the unit named), as recorded.
      const single = await Inventory.open(await freshDatabase(postgres.url!));
      const one = await single.loadScan((await scan({ targets: [tree, late], inventory: single, now, full: true })).scan.id);
      await single.close();
      expect(JSON.stringify(amended.artifacts, null, 1)).toBe(JSON.stringify(one.artifacts, null, 1));
      expect(amended.scan.stats).toEqual(one.scan.stats);
      // The inventory's list of scans shows the amended summary.
      const listed = (await inventory.scans()).find((x) => x.id === spec.scanId);
      expect(listed?.stats).toEqual(one.scan.stats);
      const severities = { critical: 0, high: 0, medium: 0, low: 0, none: 0 } as Record<string, number>;
      for (const a of one.artifacts) for (const f of a.findings) severities[f.exposure?.severity ?? 'none']++;
      expect(listed?.bySeverity).toEqual(severities);
    } finally {
      await q.close();
      await inventory.close();
    }
  }, 300_000);
});
