/**
 * What travels through the queue: small JSON naming the work, never artifact bytes (workers fetch by reference) and
 * never credentials (workers have their own, as any scanner does). Job ids are derived from content, so a unit
 * enqueued twice in one scan runs once.
 * @module
 */
import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import type { WorkUnit } from '../sources/types.js';

/** Everything a worker needs to scan a unit of a scan the same way on every machine. JSON only. */
export interface ScanSpec {
  scanId: string;
  /** The scan's clock: recorded as its start, and the engine's `now` on every worker. */
  startedAt: string;
  targets: string[];
  include?: string[];
  exclude?: string[];
  detectors?: { only?: string[]; skip?: string[] };
  /** Read every artifact (`--full`): no carry-over from earlier scans. */
  full?: boolean;
  /** Source options (JSON values only). */
  sourceOptions: Record<string, unknown>;
  concurrency?: number;
  /** Units on one remote host in flight across all workers (src/queue/politeness.ts). */
  hostConcurrency?: number;
  /** The inventory the scan is recorded in, without a password: a worker writing elsewhere refuses the job. */
  inventory: string;
}

/** Scoring for the finalize step, as JSON (`now` as an ISO string). */
export interface ScoringSpec {
  now?: string;
  timeline?: string;
  crqcYear?: number;
  policies?: string[];
  config?: unknown;
}

export interface UnitJobData {
  spec: ScanSpec;
  target: string;
  unit: WorkUnit;
}

export interface FinalizeJobData {
  spec: ScanSpec;
  /** Who records the scan: the waiting `scan --queue` ('producer'), or a worker (`--detach`). */
  finalizeIn: 'producer' | 'worker';
  /** Scoring for a worker's finalize; false: none. */
  scoring: ScoringSpec | false;
}

export const UNIT_JOB = 'unit';
export const FINALIZE_JOB = 'finalize';

/**
 * `<scan>-<sha256 of target and unit>`: the same unit of the same scan always gets the same id, and BullMQ ignores an
 * id it already holds. BullMQ ids must not contain `:` and must not be all digits; this one is neither.
 */
export function unitJobId(scanId: string, target: string, unit: WorkUnit): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([target, unit.uri, canonical(unit.part), !!unit.split]))
    .digest('hex');
  return `${scanId}-u-${digest}`;
}

export function finalizeJobId(scanId: string): string {
  return `${scanId}-finalize`;
}

/** JSON with object keys sorted, so two equal parts hash alike whatever order their keys were written in. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}

/** Retries and bookkeeping for work units; a unit that keeps failing lets the scan finish and says so. */
export interface UnitRetry {
  /** Deliveries before a unit is given up (default 3). */
  attempts?: number;
  /** First retry delay in ms, doubled each time (default 2000). */
  backoffMs?: number;
}

export function unitJobOptions(jobId: string, retry: UnitRetry = {}): JobsOptions {
  return {
    jobId,
    attempts: retry.attempts ?? 3,
    backoff: { type: 'exponential', delay: retry.backoffMs ?? 2000 },
    // A failed unit does not block the finalize step: it reads the failures and reports them (src/queue/finalize.ts).
    ignoreDependencyOnFailure: true,
    // Kept a day (completed) or a week (failed): long enough for `queue status|retry` and for ids to stay deduplicated.
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}
