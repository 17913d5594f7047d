/**
 * Politeness across workers, against a hostile registry that answers 429 (Retry-After: 1) to every request and holds
 * each answer 300 ms, so that two workers' requests would overlap: with a host limit of one, they never do, and the
 * pause the first 429 asked for is recorded for every worker to see. The scan still finishes, and says why each
 * repository could not be read.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import { distributedScan } from '../../src/queue/producer.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { freshDatabase, startWorkerProcess, stopWorker, uniqueQueueName, type WorkerProcess } from '../helpers/queue.js';

const postgres = inject('postgres');

describe('a registry that answers 429 to every worker', () => {
  requirePrerequisiteForAll(!postgres.url && postgres.reason);
  let server: Server;
  let port = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const seen: string[] = [];
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      seen.push(req.url ?? '');
      setTimeout(() => {
        inFlight--;
        res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      }, 300);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    await new Promise((r) => server.close(r));
  });

  it('holds the host to its limit across two workers, records its Retry-After, and reports both repositories', async () => {
    const db = await freshDatabase(postgres.url!);
    const queueName = uniqueQueueName();
    for (let i = 0; i < 2; i++) workers.push(await startWorkerProcess(['--queue', db, '--queue-name', queueName, '--db', db, '--concurrency', '2']));
    const inventory = await Inventory.open(db);
    const targets = [`oci://127.0.0.1:${port}/a`, `oci://127.0.0.1:${port}/b`];
    const r = await distributedScan({ queue: db, queueName, targets, inventory, hostConcurrency: 1, sourceOptions: { retries: 1 }, scoring: false });
    const pause = await inventory.db.selectFrom('host_pauses').selectAll().execute();
    await inventory.close();
    expect(seen.some((u) => u.startsWith('/v2/a/'))).toBe(true);
    expect(seen.some((u) => u.startsWith('/v2/b/'))).toBe(true);
    expect(maxInFlight).toBe(1);
    expect(pause.map((p) => p.host)).toEqual([`oci://127.0.0.1:${port}`]);
    for (const t of targets) {
      const a = r.artifacts.find((x) => x.uri === t);
      expect(a?.errors[0].message).toMatch(/429/);
    }
  }, 300_000);
});
