/**
 * `shelflife worker`: takes work units off the queue, scans each with the same engine as a one-process scan, stages
 * the results in the shared inventory and only then completes the job (acknowledged after the write). A unit marked
 * `split` is planned instead (a target into directories or repositories, a repository into manifests) and its units
 * are added to the scan's flow while the splitting job still holds it open. The finalize job runs last, once every
 * unit is done or given up.
 *
 * Delivery is at-least-once: a worker that dies loses its lock, BullMQ's stalled-job check hands the unit to another
 * worker, and staging replaces that unit's rows, so nothing is recorded twice.
 * @module
 */
import { hostname } from 'node:os';
import { DelayedError, UnrecoverableError, type Job, type Queue, type Worker } from 'bullmq';
import { errorMessage } from '../errors.js';
import type { Inventory } from '../inventory/inventory.js';
import { stageUnit } from '../inventory/staging.js';
import { previousRecords } from '../inventory/unit-reuse.js';
import { redactUrl } from '../net/secrets.js';
import { planUnits, scanUnit } from '../scan/unit.js';
import type { SourceProblem, WorkUnit } from '../sources/types.js';
import { openQueue, openWorker } from './_bull.js';
import { amendIfRecorded } from './amend.js';
import { queueConnection } from './connection.js';
import { finalizeScan, scoringFromSpec, type FailedUnit } from './finalize.js';
import { acquireHostSlot, DEFAULT_HOST_CONCURRENCY, hostPausedUntil, pauseHost, unitHost, type HostSlot } from './politeness.js';
import { FINALIZE_JOB, UNIT_JOB, unitJobId, unitJobOptions, type FinalizeJobData, type ScanSpec, type UnitJobData, type UnitRetry } from './jobs.js';

export interface WorkerOptions {
  queue: string;
  queueName?: string;
  inventory: Inventory;
  /** Units scanned at once by this process (default 1: one core per worker). */
  concurrency?: number;
  /**
   * How long a job's lock lasts without renewal (ms, default 120 s). A parse holds the event loop for at most its
   * bounded time (src/limits.ts); the lock must outlast it, or the unit is handed to another worker as stalled.
   */
  lockDuration?: number;
  /** How often stalled jobs are looked for (ms, default 30 s). */
  stalledInterval?: number;
  /** Times a unit may be found stalled before it fails (default 2). */
  maxStalledCount?: number;
  /** Retries for the units this worker adds (split units' children). */
  retry?: UnitRetry;
  log?: (line: string) => void;
}

/** What a finished unit job returns (kept by BullMQ with the job). */
export interface UnitOutcome {
  artifacts: number;
  /** Records carried over unchanged from an earlier scan. */
  reused?: number;
  /** Units a split job planned. */
  units?: number;
  /** Time scanning the unit and staging its results (ms). */
  scanMs?: number;
  stageMs?: number;
}

export interface RunningWorker {
  /** Stop taking jobs; resolves when the running ones are finished (`force`: released at once, to be retried). */
  close(force?: boolean): Promise<void>;
  /** Units completed and failed by this process. */
  readonly stats: { completed: number; failed: number };
}

function sameInventory(a: string, b: string): boolean {
  return redactUrl(a).replace(/\/+$/, '') === redactUrl(b).replace(/\/+$/, '');
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const conn = await queueConnection(options.queue, options.queueName);
  const queue = openQueue(conn);
  const inventory = options.inventory;
  const log = options.log ?? (() => {});
  const stats = { completed: 0, failed: 0 };

  const checkSpec = (spec: ScanSpec) => {
    // Results must land where the scan will be finalized: a worker pointed at another inventory refuses, for good.
    if (!sameInventory(spec.inventory, inventory.location))
      throw new UnrecoverableError(
        `this worker records into ${redactUrl(inventory.location)}, the scan into ${spec.inventory}: start the worker with --db ${spec.inventory}`,
      );
  };

  const runUnit = async (job: Job<UnitJobData>, token?: string): Promise<UnitOutcome> => {
    const { spec, target, unit } = job.data;
    checkSpec(spec);
    // Politeness: one of the host's slots, and no start while any worker has been told to wait (src/queue/politeness.ts).
    const host = unitHost(target, unit, spec.sourceOptions);
    let slot: HostSlot | undefined;
    if (host) {
      const paused = await hostPausedUntil(inventory, host);
      if (paused) await later(job, token, paused);
      slot = await acquireHostSlot(inventory, host, spec.hostConcurrency ?? DEFAULT_HOST_CONCURRENCY);
      if (!slot) await later(job, token, Date.now() + 500 + Math.floor(Math.random() * 1000));
    }
    try {
      return await runHeld(job, host);
    } finally {
      await slot?.release();
    }
  };

  const runHeld = async (job: Job<UnitJobData>, host: string | undefined): Promise<UnitOutcome> => {
    const { spec, target, unit } = job.data;
    const onRateLimit = (origin: string, waitMs: number) => {
      if (host) pauseHost(inventory, host, Date.now() + waitMs).catch((e: unknown) => log(`cannot record the pause ${origin} asked for: ${errorMessage(e)}`));
    };
    const common = {
      include: spec.include,
      exclude: spec.exclude,
      sourceOptions: { ...spec.sourceOptions, onRateLimit },
    };
    if (unit.split) {
      if (!job.parent) throw new UnrecoverableError('a unit to split must belong to a scan (a flow with a finalize job)');
      const parent = { id: String(job.parent.id), queue: job.parent.queueKey };
      const problems: SourceProblem[] = [];
      let batch: { name: string; data: UnitJobData; opts: ReturnType<typeof unitJobOptions> }[] = [];
      let units = 0;
      const flush = async () => {
        if (batch.length) await queue.addBulk(batch.map((b) => ({ ...b, opts: { ...b.opts, parent } })));
        batch = [];
      };
      const within = unit.part.root ? undefined : unit;
      for await (const u of planUnits(target, common, within)) {
        if (!('part' in u)) {
          problems.push(u);
          continue;
        }
        const w: WorkUnit = u;
        batch.push({ name: UNIT_JOB, data: { spec, target, unit: w }, opts: unitJobOptions(unitJobId(spec.scanId, target, w), options.retry) });
        units++;
        if (batch.length >= 500) await flush();
      }
      await flush();
      // What planning could not list is staged like any unit's problems (written once, whatever the deliveries).
      await stageUnit(inventory, spec.scanId, { unitId: String(job.id), uri: unit.uri, results: [], problems, bytes: 0 }, new Date().toISOString());
      return { artifacts: 0, units };
    }
    const t0 = performance.now();
    const r = await scanUnit({
      ...common,
      target,
      unit,
      startedAt: spec.startedAt,
      concurrency: spec.concurrency,
      // As scan(): unchanged artifacts are carried over unless the scan reads everything or narrows the detectors.
      ...(spec.full || spec.detectors ? {} : { previous: (uris: string[]) => previousRecords(inventory, uris) }),
      detectors: spec.detectors && {
        ...(spec.detectors.only ? { only: new Set(spec.detectors.only) } : {}),
        ...(spec.detectors.skip ? { skip: new Set(spec.detectors.skip) } : {}),
      },
    });
    const t1 = performance.now();
    // Acknowledged after the write: the job completes only once this transaction has committed.
    await stageUnit(inventory, spec.scanId, { unitId: String(job.id), uri: unit.uri, ...r }, new Date().toISOString());
    // A unit retried after its scan was recorded (`queue retry`) amends the record (src/queue/amend.ts).
    const amended = await amendIfRecorded(inventory, queue, spec, String(job.id));
    if (amended) log(`scan ${spec.scanId} amended with ${unit.uri}: ${amended.scan.stats.artifacts} artifacts, ${amended.scan.stats.errors} errors`);
    // Kept with the finished job: where a unit's time goes (bench/scale-out.ts sums them).
    return { artifacts: r.results.length, reused: r.reused, scanMs: Math.round(t1 - t0), stageMs: Math.round(performance.now() - t1) };
  };

  const runFinalize = async (job: Job<FinalizeJobData>): Promise<{ finalized: boolean }> => {
    const { spec } = job.data;
    if (job.data.finalizeIn !== 'worker') return { finalized: false };
    checkSpec(spec);
    const failed = await failedUnits(job, queue);
    const result = await finalizeScan(inventory, spec, { scoring: scoringFromSpec(job.data.scoring), failed, finishedAt: new Date().toISOString() });
    log(`scan ${spec.scanId} recorded: ${result.scan.stats.artifacts} artifacts, ${failed.length} failed units`);
    return { finalized: true };
  };

  const worker: Worker = openWorker(
    conn,
    async (job: Job, token?: string) => {
      if (job.name === UNIT_JOB) return runUnit(job as Job<UnitJobData>, token);
      if (job.name === FINALIZE_JOB) return runFinalize(job as Job<FinalizeJobData>);
      throw new UnrecoverableError(`unknown job kind "${job.name}"`);
    },
    {
      // Named by host and process: `queue status` counts them, and each finished job says which worker ran it.
      name: `shelflife-${hostname()}-${process.pid}`,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDuration ?? 120_000,
      stalledInterval: options.stalledInterval ?? 30_000,
      maxStalledCount: options.maxStalledCount ?? 2,
      // Per-minute counts of finished units, a day of them: the rates `queue status` shows.
      metrics: { maxDataPoints: 24 * 60 },
    },
  );
  worker.on('completed', () => stats.completed++);
  worker.on('failed', (job, e) => {
    stats.failed++;
    log(
      `unit ${job?.id ?? '?'} (${(job?.data as UnitJobData | undefined)?.unit?.uri ?? '?'}) failed (attempt ${job?.attemptsMade ?? '?'}): ${errorMessage(e)}`,
    );
  });
  // A lost connection is BullMQ's to retry; it is reported, never allowed to crash the process.
  worker.on('error', (e) => log(`queue connection: ${errorMessage(e)}`));
  await worker.waitUntilReady();
  return {
    stats,
    async close(force = false) {
      await worker.close(force);
      await queue.close();
    },
  };
}

/** Back to the queue until `at`, without counting as an attempt (BullMQ's delayed set). */
async function later(job: Job, token: string | undefined, at: number): Promise<never> {
  await job.moveToDelayed(at, token);
  throw new DelayedError();
}

/** The scan's units given up for good, read from the finalize job (BullMQ keeps their reasons on the parent). */
export async function failedUnits(parent: Job, queue: Queue): Promise<FailedUnit[]> {
  const failures = await parent.getIgnoredChildrenFailures();
  const out: FailedUnit[] = [];
  for (const [key, reason] of Object.entries(failures)) {
    const jobId = key.slice(key.lastIndexOf(':') + 1);
    const child = (await queue.getJob(jobId)) as Job<UnitJobData> | undefined;
    out.push({ jobId, uri: child?.data.unit.uri ?? jobId, attempts: child?.attemptsMade ?? 0, reason: String(reason) });
  }
  return out.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
}
