/**
 * `scan … --queue URL`: the scan as a BullMQ flow. One finalize job (the parent) waits for one root unit per target;
 * workers split the roots into units (src/sources/ `units()`), and the units they add join the same flow, so the
 * parent finishes only when every unit is done or given up. Then the scan is finalized over the inventory: here
 * (the command waits, shows progress and renders the report) or by a worker (`--detach`).
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { UsageError, ShelflifeError } from '../errors.js';
import type { Inventory } from '../inventory/inventory.js';
import { StagedReader, stagedProgress } from '../inventory/staging.js';
import type { ScanResult } from '../model.js';
import { redactUrl } from '../net/secrets.js';
import type { SourceOptions } from '../sources/index.js';
import type { WorkUnit } from '../sources/types.js';
import { prepareScoring, type ScoringOptions } from '../scoring/index.js';
import type { Trust } from '../provenance/trust.js';
import { openFlowProducer, openQueue } from './_bull.js';
import { queueConnection } from './connection.js';
import { finalizeScan, scoringToSpec } from './finalize.js';
import {
  FINALIZE_JOB,
  finalizeJobId,
  UNIT_JOB,
  unitJobId,
  unitJobOptions,
  type FinalizeJobData,
  type ScanSpec,
  type UnitJobData,
  type UnitRetry,
} from './jobs.js';
import { failedUnits } from './worker.js';

export interface DistributedScanOptions {
  queue: string;
  queueName?: string;
  targets: string[];
  include?: string[];
  exclude?: string[];
  detectors?: { only?: Set<string>; skip?: Set<string> };
  /** Read every artifact: no carry-over of unchanged ones from the inventory's earlier scans (as scan()'s `full`). */
  full?: boolean;
  sourceOptions?: SourceOptions;
  /** Artifacts each worker reads at once within a unit. */
  concurrency?: number;
  /** Units on one remote host in flight across all workers (default 4). */
  hostConcurrency?: number;
  now?: () => Date;
  scoring?: ScoringOptions | false;
  /**
   * Signed models' provenance (`--trust`, `--evidence`), as scan() takes it. Read by the finalize step where it runs:
   * here when the producer waits; a detached scan is finalized by a worker, which cannot read the producer's files.
   */
  provenance?: { trust?: Trust; evidence?: string[] } | false;
  /** The shared inventory the workers record into (PostgreSQL for workers on several machines). */
  inventory: Inventory;
  /** Retries of each unit. */
  retry?: UnitRetry;
  /** Told while the scan runs (about every `progressMs`). */
  onProgress?: (p: ScanProgress) => void;
  progressMs?: number;
  /** Give up waiting after this long (ms); the scan goes on in the workers. */
  timeoutMs?: number;
}

export interface ScanProgress {
  scanId: string;
  unitsDone: number;
  artifacts: number;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/** JSON-only source options: functions and objects the queue cannot carry (test clients) are refused, not dropped. */
function jsonOptions(o: SourceOptions | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o ?? {})) {
    if (v === undefined) continue;
    if (typeof v === 'function' || (v && typeof v === 'object' && !Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype))
      throw new UsageError(`source option "${k}" cannot be sent to workers through a queue`);
    out[k] = v;
  }
  return out;
}

/** Enqueue a scan: its flow (finalize parent, one root unit per target). Returns the scan id at once. */
export async function enqueueScan(options: DistributedScanOptions, finalizeIn: 'producer' | 'worker'): Promise<ScanSpec> {
  for (const t of options.targets) {
    // Credentials are not put in a queue: each worker brings its own (environment, docker config, AWS profile).
    if (redactUrl(t) !== t)
      throw new UsageError('a password in a target URL is not sent through the queue; give the workers their credentials instead', { uri: redactUrl(t) });
  }
  if (!options.targets.length) throw new UsageError('no targets to scan');
  if (finalizeIn === 'worker' && options.provenance && (options.provenance.trust || options.provenance.evidence?.length))
    throw new UsageError(
      '--trust and --evidence are read where the scan is finalized: a detached scan is finalized by a worker, which cannot read them (run without --detach)',
    );
  const scanId = randomUUID();
  const startedAt = (options.now?.() ?? new Date()).toISOString();
  // Bad scoring flags fail here, before any job exists.
  if (options.scoring !== false) prepareScoring({ now: new Date(startedAt), ...options.scoring });
  const spec: ScanSpec = {
    scanId,
    startedAt,
    targets: options.targets,
    ...(options.include?.length ? { include: options.include } : {}),
    ...(options.exclude?.length ? { exclude: options.exclude } : {}),
    ...(options.detectors
      ? {
          detectors: {
            ...(options.detectors.only ? { only: [...options.detectors.only] } : {}),
            ...(options.detectors.skip ? { skip: [...options.detectors.skip] } : {}),
          },
        }
      : {}),
    ...(options.full ? { full: true } : {}),
    sourceOptions: jsonOptions(options.sourceOptions),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.hostConcurrency ? { hostConcurrency: options.hostConcurrency } : {}),
    inventory: redactUrl(options.inventory.location),
  };
  const conn = await queueConnection(options.queue, options.queueName);
  const flow = openFlowProducer(conn);
  try {
    const finalize: FinalizeJobData = { spec, finalizeIn, scoring: scoringToSpec(options.scoring, startedAt) };
    await flow.add({
      name: FINALIZE_JOB,
      queueName: conn.name,
      data: finalize,
      opts: { jobId: finalizeJobId(scanId), attempts: 3, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { age: 7 * 24 * 3600 } },
      children: options.targets.map((target) => {
        const unit: WorkUnit = { uri: target, part: { root: true }, split: true };
        const data: UnitJobData = { spec, target, unit };
        return { name: UNIT_JOB, queueName: conn.name, data, opts: unitJobOptions(unitJobId(scanId, target, unit), options.retry) };
      }),
    });
  } finally {
    await flow.close();
  }
  return spec;
}

/** Enqueue, wait for every unit, finalize here, and return the scan as recorded. */
export async function distributedScan(options: DistributedScanOptions): Promise<ScanResult> {
  return awaitScan(options, await enqueueScan(options, 'producer'));
}

/** Wait for the units of a scan enqueued with `finalizeIn: 'producer'`, then finalize it here. */
export async function awaitScan(options: DistributedScanOptions, spec: ScanSpec): Promise<ScanResult> {
  const conn = await queueConnection(options.queue, options.queueName);
  const queue = openQueue(conn);
  try {
    // What the units stage is read while they run, so the finalize step starts from the last units' rows only.
    const staged = new StagedReader(options.inventory, spec.scanId);
    const parent = await waitForUnits(queue, spec.scanId, options, staged);
    const failed = await failedUnits(parent, queue);
    return await finalizeScan(options.inventory, spec, {
      staged,
      scoring: options.scoring ?? {},
      failed,
      finishedAt: (options.now?.() ?? new Date()).toISOString(),
      ...(options.provenance !== undefined ? { provenance: options.provenance } : {}),
    });
  } finally {
    await queue.close();
  }
}

/**
 * Poll the finalize job until BullMQ has run it (every unit done or given up), every 100 ms at most so the finalize
 * starts soon after the last unit; every `progressMs`, show progress and read what the units staged since.
 */
async function waitForUnits(queue: ReturnType<typeof openQueue>, scanId: string, options: DistributedScanOptions, staged: StagedReader): Promise<Job> {
  const every = options.progressMs ?? 500;
  const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : Infinity;
  let errors = 0;
  let read = 0;
  for (;;) {
    let state: string;
    let job: Job | undefined;
    let progress: ScanProgress | undefined;
    try {
      job = await queue.getJob(finalizeJobId(scanId));
      state = job ? await job.getState() : 'missing';
      if (state !== 'completed' && Date.now() - read >= every) {
        read = Date.now();
        await staged.catchUp();
        if (options.onProgress) {
          const p = await stagedProgress(options.inventory, scanId);
          const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
          progress = {
            scanId,
            unitsDone: p.units,
            artifacts: p.artifacts,
            waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
            active: c.active ?? 0,
            delayed: c.delayed ?? 0,
            failed: c.failed ?? 0,
          };
        }
      }
      errors = 0;
    } catch (e) {
      // A connection lost for a moment (a database restart, a failover) does not end a scan that runs for hours.
      if (++errors > 30) throw e;
      await new Promise((r) => setTimeout(r, every));
      continue;
    }
    if (!job) throw new ShelflifeError('inventory', `the queue lost scan ${scanId}'s finalize job (drained or obliterated?)`);
    if (state === 'completed') return job;
    if (state === 'failed') throw new ShelflifeError('inventory', `scan ${scanId}: the finalize job failed: ${job.failedReason}`);
    if (progress) options.onProgress?.(progress);
    if (Date.now() > deadline)
      throw new ShelflifeError(
        'inventory',
        `scan ${scanId} is still running in the workers after ${options.timeoutMs} ms; it will be recorded when they finish (run a worker)`,
      );
    await new Promise((r) => setTimeout(r, Math.min(every, 100)));
  }
}
