/**
 * What goes wrong in a distributed scan, on the real servers: a worker killed with SIGKILL mid-scan, the same unit
 * enqueued twice, a unit that always throws, a worker pointed at another inventory, and every database connection
 * cut while the scan runs. Each time the scan still finishes with every artifact exactly once, or says which unit
 * failed and why.
 */
import { join } from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import { queueConnection } from '../../src/queue/connection.js';
import { UNIT_JOB, finalizeJobId, unitJobOptions, type UnitJobData } from '../../src/queue/jobs.js';
import { awaitScan, distributedScan, enqueueScan } from '../../src/queue/producer.js';
import { stagedProgress } from '../../src/inventory/staging.js';
import { scan } from '../../src/scan/scan.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { freshDatabase, redactedReport, startWorkerProcess, stopWorker, uniqueQueueName, type WorkerProcess } from '../helpers/queue.js';

const postgres = inject('postgres');
const redis = inject('redis');
const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
const now = () => new Date('2026-06-01T00:00:00Z');

async function openQueue(url: string, name: string): Promise<Queue> {
  const c = await queueConnection(url, name);
  return new Queue(name, { connection: c.connection as never }, c.factory as never);
}

async function oneProcess(targets: string[], sourceOptions: Record<string, unknown> = {}) {
  const inv = await Inventory.open(await freshDatabase(postgres.url!));
  try {
    return await scan({ targets, inventory: inv, now, full: true, sourceOptions });
  } finally {
    await inv.close();
  }
}

const workers: WorkerProcess[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map(stopWorker));
});

describe.each([
  { backend: 'postgres', missing: !postgres.url && postgres.reason, queueUrl: (db: string) => db },
  { backend: 'redis', missing: (!postgres.url && postgres.reason) || (!redis.url && redis.reason), queueUrl: () => redis.url! },
])('a worker SIGKILLed mid-scan ($backend)', ({ missing, queueUrl }) => {
  requirePrerequisiteForAll(missing);
  it('its units come back to the other worker; every artifact is reported exactly once', async () => {
    const db = await freshDatabase(postgres.url!);
    const queue = queueUrl(db);
    const queueName = uniqueQueueName();
    // Short locks, so the dead worker's units are handed on within seconds (BullMQ's stalled-job check).
    const args = ['--queue', queue, '--queue-name', queueName, '--db', db, '--concurrency', '2', '--lock-duration', '3', '--stalled-interval', '1'];
    const victim = await startWorkerProcess(args);
    workers.push(victim, await startWorkerProcess(args));
    const inventory = await Inventory.open(db);
    const sourceOptions = { unitEntries: 3 };
    let killed = false;
    const distributed = await distributedScan({
      queue,
      queueName,
      targets: [FIXTURES],
      inventory,
      now,
      sourceOptions,
      progressMs: 50,
      onProgress: (p) => {
        if (!killed && p.unitsDone >= 8) {
          killed = true;
          victim.child.kill('SIGKILL');
        }
      },
    });
    await inventory.close();
    expect(killed).toBe(true);
    expect(await victim.exited).toBeNull();
    expect(redactedReport(distributed)).toBe(redactedReport(await oneProcess([FIXTURES], sourceOptions)));
    // A unit the victim held was started again by the survivor.
    const q = await openQueue(queue, queueName);
    const done = await q.getCompleted(0, 10_000);
    await q.close();
    expect(done.some((j) => j.attemptsStarted > 1 || j.stalledCounter > 0)).toBe(true);
  }, 300_000);
});

describe('units that are duplicated, poisoned or misdirected, and lost connections (queue on PostgreSQL)', () => {
  requirePrerequisiteForAll(!postgres.url && postgres.reason);
  const core = join(FIXTURES, 'core');

  it('runs a unit enqueued twice once', async () => {
    const db = await freshDatabase(postgres.url!);
    const queueName = uniqueQueueName();
    workers.push(await startWorkerProcess(['--queue', db, '--queue-name', queueName, '--db', db]));
    const inventory = await Inventory.open(db);
    // The same target twice: the same root unit, the same job id.
    const r = await distributedScan({ queue: db, queueName, targets: [core, core], inventory, now });
    await inventory.close();
    expect(redactedReport(r)).toBe(redactedReport(await oneProcess([core, core])));
    const q = await openQueue(db, queueName);
    const roots = (await q.getCompleted(0, 1000)).filter((j) => (j.data as UnitJobData).unit?.part?.root);
    await q.close();
    expect(roots).toHaveLength(1);
  }, 300_000);

  it('gives up a unit that always throws, after its retries, and the scan says which and why', async () => {
    const db = await freshDatabase(postgres.url!);
    const queueName = uniqueQueueName();
    const inventory = await Inventory.open(db);
    const options = { queue: db, queueName, targets: [core], inventory, now, retry: { attempts: 2, backoffMs: 50 } };
    const spec = await enqueueScan(options, 'producer');
    // A hostile or corrupted unit: it names a directory outside its target, which the fs source refuses every time.
    const q = await openQueue(db, queueName);
    const poisoned: UnitJobData = {
      spec,
      target: core,
      unit: { uri: 'file:///etc', part: { dirs: [{ abs: '/etc', rel: '', outside: false, from: 0, to: null }] } },
    };
    await q.add(UNIT_JOB, poisoned, {
      ...unitJobOptions(`${spec.scanId}-poisoned`, options.retry),
      parent: { id: finalizeJobId(spec.scanId), queue: q.qualifiedName },
    });
    workers.push(await startWorkerProcess(['--queue', db, '--queue-name', queueName, '--db', db]));
    const r = await awaitScan(options, spec);
    await inventory.close();
    const failed = await q.getFailed();
    await q.close();
    expect(failed.map((j) => [j.id, j.attemptsMade])).toEqual([[`${spec.scanId}-poisoned`, 2]]);
    const etc = r.artifacts.find((a) => a.uri === 'file:///etc');
    expect(etc?.errors).toEqual([
      {
        code: 'io',
        message: `work unit failed 2 times and was given up (queue job ${spec.scanId}-poisoned): work unit names a directory outside the scan target`,
        source: 'source',
      },
    ]);
    // Everything else is there, as one process sees it.
    const one = await oneProcess([core]);
    expect(r.artifacts.filter((a) => a.uri !== 'file:///etc').map((a) => a.uri)).toEqual(one.artifacts.map((a) => a.uri));
    expect(r.scan.stats.errors).toBe(one.scan.stats.errors + 1);
  }, 300_000);

  it('a worker recording into another inventory refuses the units at once, and the scan reports them', async () => {
    const db = await freshDatabase(postgres.url!);
    const other = await freshDatabase(postgres.url!);
    const queueName = uniqueQueueName();
    workers.push(await startWorkerProcess(['--queue', db, '--queue-name', queueName, '--db', other]));
    const inventory = await Inventory.open(db);
    const r = await distributedScan({ queue: db, queueName, targets: [core], inventory, now });
    await inventory.close();
    expect(r.artifacts).toHaveLength(1);
    expect(r.artifacts[0].errors[0].message).toMatch(
      /failed once and was given up .*: this worker records into .*, the scan into .*: start the worker with --db/,
    );
  }, 300_000);

  it('survives every database connection being cut mid-scan', async () => {
    const db = await freshDatabase(postgres.url!);
    const queueName = uniqueQueueName();
    // A unit whose completion was lost with its connection stays active until its lock lapses: short locks here.
    const args = ['--queue', db, '--queue-name', queueName, '--db', db, '--concurrency', '2', '--lock-duration', '5', '--stalled-interval', '2'];
    workers.push(await startWorkerProcess(args), await startWorkerProcess(args));
    const inventory = await Inventory.open(db);
    const sourceOptions = { unitEntries: 3 };
    const spec = await enqueueScan(
      { queue: db, queueName, targets: [FIXTURES], inventory, now, sourceOptions, retry: { attempts: 5, backoffMs: 200 } },
      'producer',
    );
    // Once units are being recorded, every session on the database is terminated (a failover, a restart).
    for (let i = 0; i < 600 && (await stagedProgress(inventory, spec.scanId)).units < 5; i++) await new Promise((r) => setTimeout(r, 50));
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    const cut = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [
      new URL(db).pathname.slice(1),
    ]);
    await admin.end();
    expect(cut.rowCount).toBeGreaterThan(2);
    // Both workers reconnect and go on: neither exits, and the scan finishes without a restart.
    try {
      const r = await awaitScan({ queue: db, queueName, targets: [FIXTURES], inventory, now, sourceOptions }, spec);
      expect(redactedReport(r)).toBe(redactedReport(await oneProcess([FIXTURES], sourceOptions)));
    } finally {
      await inventory.close();
    }
    for (const w of workers)
      expect({ exit: w.child.exitCode, signal: w.child.signalCode, log: w.child.exitCode === null ? '' : w.log() }).toEqual({
        exit: null,
        signal: null,
        log: '',
      });
    // And they still take work: a second scan of the same queue finishes on them.
    const again = await Inventory.open(db);
    try {
      const core = join(FIXTURES, 'core');
      // (Read in full: what this inventory recorded of the first scan is not what is tested here.)
      const r = await distributedScan({ queue: db, queueName, targets: [core], inventory: again, now, full: true });
      const one = await oneProcess([core]);
      // (Copies differ: this inventory holds the first scan's locations too.)
      expect(r.artifacts.map((a) => [a.uri, a.findings.length, a.errors.length])).toEqual(
        one.artifacts.map((a) => [a.uri, a.findings.length, a.errors.length]),
      );
    } finally {
      await again.close();
    }
  }, 300_000);
});
