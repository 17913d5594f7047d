/**
 * `shelflife queue status|retry|drain`: what is waiting, running and failed in a queue, the rate units finish at,
 * and the two operations an operator needs (retry the failed units, drop what has not started).
 * @module
 */
import type { Job } from 'bullmq';
import { openQueue } from './_bull.js';
import { queueConnection } from './connection.js';
import type { UnitJobData } from './jobs.js';

export interface QueueStatus {
  queue: string;
  name: string;
  counts: { waiting: number; active: number; delayed: number; waitingChildren: number; completed: number; failed: number };
  workers: number;
  /** Units finished per minute: over the last minute and the last 15. */
  rate: { completed1m: number; completed15m: number; failed15m: number };
  /** The most recent failures (at most `limit`): which unit, how often tried, why. */
  failures: { jobId: string; scanId?: string; uri: string; attempts: number; reason: string; finishedAt?: string }[];
}

function perMinute(data: number[], minutes: number): number {
  const window = data.slice(0, minutes);
  return window.length ? window.reduce((a, b) => a + b, 0) / minutes : 0;
}

export async function queueStatus(url: string, name?: string, limit = 20): Promise<QueueStatus> {
  const conn = await queueConnection(url, name);
  const queue = openQueue(conn);
  try {
    const c = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'waiting-children', 'completed', 'failed');
    const completed = await queue.getMetrics('completed', 0, 15);
    const failed = await queue.getMetrics('failed', 0, 15);
    const workers = await queue.getWorkers();
    const jobs = (await queue.getFailed(0, limit - 1)) as Job<UnitJobData>[];
    return {
      queue: conn.display,
      name: conn.name,
      counts: {
        waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
        active: c.active ?? 0,
        delayed: c.delayed ?? 0,
        waitingChildren: c['waiting-children'] ?? 0,
        completed: c.completed ?? 0,
        failed: c.failed ?? 0,
      },
      workers: workers.length,
      rate: { completed1m: perMinute(completed.data, 1), completed15m: perMinute(completed.data, 15), failed15m: perMinute(failed.data, 15) },
      failures: jobs
        .filter((j) => !!j)
        .map((j) => ({
          jobId: String(j.id),
          ...(j.data?.spec?.scanId ? { scanId: j.data.spec.scanId } : {}),
          uri: j.data?.unit?.uri ?? String(j.id),
          attempts: j.attemptsMade,
          reason: j.failedReason ?? '',
          ...(j.finishedOn ? { finishedAt: new Date(j.finishedOn).toISOString() } : {}),
        })),
    };
  } finally {
    await queue.close();
  }
}

/**
 * Put every failed unit back in the queue (after fixing what made them fail). Returns how many were failed. A unit of
 * a scan already recorded amends that scan once it is done (src/queue/amend.ts).
 */
export async function retryFailed(url: string, name?: string): Promise<number> {
  const conn = await queueConnection(url, name);
  const queue = openQueue(conn);
  try {
    const n = (await queue.getJobCounts('failed')).failed ?? 0;
    await queue.retryJobs({ state: 'failed' });
    return n;
  } finally {
    await queue.close();
  }
}

/** Remove what is waiting or delayed (not what is running). Returns how many jobs were removed. */
export async function drainQueue(url: string, name?: string): Promise<number> {
  const conn = await queueConnection(url, name);
  const queue = openQueue(conn);
  try {
    const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed');
    await queue.drain(true);
    return (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0);
  } finally {
    await queue.close();
  }
}
