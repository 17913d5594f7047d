/**
 * A distributed scan answers like a one-process scan beyond the first scan of a tree, on the real servers
 * (PostgreSQL for the inventory and the queue, `shelflife worker` processes): signed models' provenance with
 * `--trust`/`--evidence`, and a rescan of an unchanged tree, which reuses what the previous scan recorded.
 */
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import { loadTrust } from '../../src/provenance/trust.js';
import { distributedScan, enqueueScan } from '../../src/queue/producer.js';
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
