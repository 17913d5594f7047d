/**
 * Distributed scans on real servers: PostgreSQL (the shared inventory, and the queue on BullMQ's PostgreSQL backend),
 * redis-server (the queue on the Redis backend), the OCI registry and the S3 server of the test setup. Workers are
 * `shelflife worker` processes. The answer must be the one-process answer, byte for byte once the scan id and finish
 * time are set aside.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { queueConnection } from '../../src/queue/connection.js';
import { distributedScan } from '../../src/queue/producer.js';
import { scan } from '../../src/scan/scan.js';
import { needPrograms, requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { freshDatabase, redactedReport, startWorkerProcess, stopWorker, uniqueQueueName, type WorkerProcess } from '../helpers/queue.js';
import { cosignSign, gz, makeCert, pushImage, pushIndex, tar } from '../helpers/registry.js';

const postgres = inject('postgres');
const redis = inject('redis');
const reg = inject('registry');
const s3 = inject('s3');
const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
const now = () => new Date('2026-06-01T00:00:00Z');
const AWS = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
Object.assign(process.env, AWS);

const SERVERS_MISSING =
  (!postgres.url && postgres.reason) || (!reg.available && reg.reason) || (!s3.available && s3.reason) || needPrograms('the distributed scan tests', 'openssl');

const BACKENDS = [
  { backend: 'postgres', missing: SERVERS_MISSING, queueUrl: (db: string) => db },
  { backend: 'redis', missing: SERVERS_MISSING || (!redis.url && redis.reason), queueUrl: () => redis.url! },
];

describe.each(BACKENDS)('a distributed scan with the queue on $backend', ({ missing, queueUrl }) => {
  requirePrerequisiteForAll(missing);
  const prefix = `scale${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
  const bucket = `shelflife-${prefix}`;
  let targets: string[];
  const sourceOptions = () => ({ endpoint: s3.endpoint, layers: true, pageSize: 2, unitEntries: 24 });
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    if (missing) return;
    // A repository with tagged images, an index whose children are tagged too, and a cosign signature.
    const client = new RegistryClient(reg.anonymous);
    const cert = makeCert('scale-out test signer');
    const a = await pushImage(client, `${prefix}/app`, 'amd64-only', [{ bytes: gz(tar({ 'etc/a.pem': makeCert('in layer a', 'rsa').certPem })) }]);
    const b = await pushImage(client, `${prefix}/app`, 'arm64-only', [{ bytes: gz(tar({ 'etc/b.pem': cert.certPem })) }], {}, 'linux', 'arm64');
    const index = await pushIndex(client, `${prefix}/app`, 'latest', [
      { mediaType: a.mediaType, digest: a.digest, size: a.size, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: b.mediaType, digest: b.digest, size: b.size, platform: { os: 'linux', architecture: 'arm64' } },
    ]);
    await cosignSign(client, `${prefix}/app`, reg.anonymous, index, cert);
    await pushImage(client, `${prefix}/app`, 'v1', [{ bytes: gz(tar({ 'usr/bin/tool': 'no keys here' })) }]);
    await pushImage(client, `${prefix}/app`, 'v1-again', [{ bytes: gz(tar({ 'usr/bin/tool': 'no keys here' })) }]);
    await client.close();
    // A bucket listed two keys to a page: five pages, five units.
    const s3c = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    await s3c.send(new CreateBucketCommand({ Bucket: bucket }));
    for (let i = 0; i < 9; i++) {
      const body =
        i % 3 === 0 ? makeCert(`object ${i}`).certPem : i % 3 === 1 ? gz(tar({ [`k${i}.pem`]: makeCert(`member ${i}`, 'rsa').certPem })) : `plain ${i}`;
      await s3c.send(new PutObjectCommand({ Bucket: bucket, Key: `fw/${i}.bin`, Body: body }));
    }
    s3c.destroy();
    targets = [FIXTURES, `oci://${reg.anonymous}/${prefix}/app`, `s3://${bucket}/fw/`];
  });

  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
  });

  it('two worker processes give exactly the one-process report, recorded in the shared inventory', async () => {
    const db = await freshDatabase(postgres.url!);
    const queue = queueUrl(db);
    const queueName = uniqueQueueName();
    for (let i = 0; i < 2; i++) workers.push(await startWorkerProcess(['--queue', queue, '--queue-name', queueName, '--db', db, '--concurrency', '2'], AWS));
    const inventory = await Inventory.open(db);
    const distributed = await distributedScan({ queue, queueName, targets, inventory, now, sourceOptions: sourceOptions(), progressMs: 100 });
    const recorded = await inventory.loadScan(distributed.scan.id);
    await inventory.close();
    await Promise.all(workers.splice(0).map(stopWorker));

    const single = await Inventory.open(await freshDatabase(postgres.url!));
    const one = await scan({ targets, inventory: single, now, full: true, sourceOptions: sourceOptions() });
    const oneRecorded = await single.loadScan(one.scan.id);
    await single.close();

    expect(one.artifacts.length).toBeGreaterThan(500);
    for (const store of ['file://', 'oci://', 's3://']) expect(one.artifacts.some((x) => x.uri.startsWith(store))).toBe(true);
    expect(redactedReport(distributed)).toBe(redactedReport(one));
    // What `report --scan` renders later, from the inventory, is the same too.
    expect(redactedReport(recorded)).toBe(redactedReport(oneRecorded));

    // The work was split (directories, manifests, listing pages) and both workers took a share.
    const conn = await queueConnection(queue, queueName);
    const q = new Queue(queueName, { connection: conn.connection as never }, conn.factory as never);
    const done = await q.getCompleted(0, 10_000);
    await q.close();
    const units = done.filter((j) => j.name === 'unit' && !(j.data as { unit: { split?: boolean } }).unit.split);
    expect(units.length).toBeGreaterThan(20);
    expect(units.some((j) => String((j.data as { unit: { uri: string } }).unit.uri).includes('@sha256:'))).toBe(true);
    expect(units.filter((j) => (j.data as { target: string }).target.startsWith('s3://')).length).toBe(5);
    expect(new Set(units.map((j) => j.processedBy)).size).toBe(2);
  }, 300_000);

  it('links a signature to what it signs and to its key when the three are in three units, as one process does', async () => {
    // One directory entry to a unit: fw-1.0.bin, its detached signature and the keyring (keys/KEYS) are three units, so
    // the link and the signer's key are whole-scan facts the finalize step joins (nothing a unit knows alone).
    const tree = join(FIXTURES, 'coverage', 'tree');
    const opts = { unitEntries: 1 };
    const db = await freshDatabase(postgres.url!);
    const queue = queueUrl(db);
    const queueName = uniqueQueueName();
    for (let i = 0; i < 2; i++) workers.push(await startWorkerProcess(['--queue', queue, '--queue-name', queueName, '--db', db]));
    const inventory = await Inventory.open(db);
    const distributed = await distributedScan({ queue, queueName, targets: [tree], inventory, now, sourceOptions: opts, progressMs: 100 });
    const recorded = await inventory.loadScan(distributed.scan.id);
    await inventory.close();
    await Promise.all(workers.splice(0).map(stopWorker));

    const single = await Inventory.open(await freshDatabase(postgres.url!));
    const one = await scan({ targets: [tree], inventory: single, now, full: true });
    const oneRecorded = await single.loadScan(one.scan.id);
    await single.close();
    expect(redactedReport(distributed)).toBe(redactedReport(one));
    expect(redactedReport(recorded)).toBe(redactedReport(oneRecorded));

    const fw = distributed.artifacts.find((a) => a.uri.endsWith('/firmware/fw-1.0.bin'))!;
    expect(fw.signedBy?.map((l) => [l.uri.split('/tree/')[1], l.verification])).toEqual([['firmware/fw-1.0.bin.asc', 'verified']]);
    const conn = await queueConnection(queue, queueName);
    const q = new Queue(queueName, { connection: conn.connection as never }, conn.factory as never);
    const done = await q.getCompleted(0, 10_000);
    await q.close();
    type Slice = { rel: string; from: number; to: number | null };
    // The unit job whose slice of `dir` starts at the entry `name` (one entry to a slice).
    const unitOf = (dir: string, name: string) => {
      const at = readdirSync(join(tree, dir)).sort().indexOf(name);
      return done.findIndex((j) => ((j.data as { unit?: { part: { dirs?: Slice[] } } }).unit?.part.dirs ?? []).some((d) => d.rel === dir && d.from === at));
    };
    const units = [unitOf('firmware', 'fw-1.0.bin'), unitOf('firmware', 'fw-1.0.bin.asc'), unitOf('keys', 'KEYS')];
    expect(units.every((u) => u >= 0)).toBe(true);
    expect(new Set(units).size).toBe(3);
  }, 300_000);
});
