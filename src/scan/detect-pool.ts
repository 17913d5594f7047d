/**
 * Detection over worker threads: a small pool of detect-worker.ts threads runs the detector registry over whole small
 * artifacts while the main thread walks, reads, hashes, records and writes. The registry is pure, so a thread finds
 * exactly what the main thread would: the report is the same for any number of threads (test/scan/threads.test.ts).
 *
 * - Each artifact's bytes are read once, by the main thread; the thread gets a copy in a buffer of its own, moved to
 *   it (transferred, not cloned), so the read buffer (maybe a slice of a shared pool) stays with its owner.
 * - Memory is bounded: at most MAX_QUEUED_BYTES of copies wait for or sit in the threads; past that (or for an artifact
 *   larger than MAX_JOB_BYTES) `accepts` says no and the caller detects inline, which slows the walk down with it.
 * - A thread that stops (out of memory, a bug in the registry) fails only what it held, as an error on those
 *   artifacts; the rest go on in the remaining threads, or inline once none is left.
 * - The pool's threads are ended by `close()` (scan() calls it when the walk is over).
 * - Threads start on the first artifact offered, or only after `startAfter` of them (the default for scans that did not
 *   ask for threads): a scan of a handful of files does not pay for starting them.
 * @module
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { runDetectors, type RunOptions, type RunResult } from '../detectors/index.js';
import { ShelflifeError } from '../errors.js';
import type { DetectContext } from '../model.js';

/** Artifacts up to this size go to a thread; larger ones are few, and detected inline without a copy. */
const MAX_JOB_BYTES = 1024 * 1024;
/** Bytes of copies queued for or held by the threads together. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** Batches in flight per thread: two, so a thread never waits for the main thread between batches. */
const DEPTH = 2;
/**
 * Artifacts sent to a thread in one message at most: what queued while the threads were busy goes together, so a scan
 * of thousands of small files costs a few hundred messages (each a wake-up of the other thread), not thousands.
 */
const BATCH = 32;
/** Without `--threads`: artifacts detected inline before threads are started (a small scan never starts them). */
export const AUTO_START_AFTER = 256;

/** The most threads a scan may ask for (`--threads`). */
export const MAX_THREADS = 64;

export function validThreads(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_THREADS;
}

/** Threads a scan uses when it does not say: one per core, at most four (the main thread has its share of work too). */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

interface Job {
  id: number;
  /** The copy sent to the thread (detached once sent: its length is kept in `length`). */
  bytes: Uint8Array;
  length: number;
  ctx: DetectContext;
  options: RunOptions;
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
}

interface Thread {
  worker: Worker;
  jobs: Map<number, Job>;
  batches: number;
  alive: boolean;
}

export class DetectPool {
  private readonly threads: Thread[] = [];
  private readonly queue: Job[] = [];
  private queuedBytes = 0;
  private offered = 0;
  private nextId = 0;
  private closing = false;

  /** Artifacts detected in a thread so far (tests check that the threads did the work). */
  sent = 0;

  /**
   * `size` threads (1 or less: none, everything inline); started once `startAfter` artifacts were offered. `entry`: the
   * thread's module, detect-worker beside this one unless a test gives another.
   */
  constructor(
    readonly size: number,
    private readonly startAfter = 0,
    private readonly entry?: URL,
  ) {}

  /** May these bytes go to a thread now? No when the pool is off, not started yet, full, or the artifact is large. */
  accepts(length: number): boolean {
    if (this.size < 2 || this.closing || length > MAX_JOB_BYTES) return false;
    if (this.offered++ < this.startAfter) return false;
    if (!this.threads.length) this.start();
    return this.threads.some((t) => t.alive) && this.queuedBytes + length <= MAX_QUEUED_BYTES;
  }

  /** Run the registry over `bytes` in a thread (call after `accepts`). The caller keeps its bytes. */
  detect(bytes: Uint8Array, ctx: DetectContext, options: RunOptions): Promise<RunResult> {
    // A buffer of the thread's own, moved to it: the caller's may be a view into a larger, shared one.
    const copy = new Uint8Array(bytes);
    this.queuedBytes += copy.length;
    return new Promise<RunResult>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, bytes: copy, length: copy.length, ctx, options, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
    this.threads.length = 0;
  }

  private start(): void {
    // The worker is this module's sibling; under tsx/vitest it is a .ts file and needs tsx's loader in the thread too.
    const url = this.entry ?? new URL(`./detect-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
    const ts = url.pathname.endsWith('.ts');
    for (let i = 0; i < this.size; i++) {
      const worker = ts
        ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true })
        : new Worker(url);
      const t: Thread = { worker, jobs: new Map(), batches: 0, alive: true };
      worker.on('message', (answers: { id: number; result?: RunResult; error?: string }[]) => {
        t.batches--;
        for (const m of answers) {
          const job = t.jobs.get(m.id);
          if (!job) continue;
          t.jobs.delete(m.id);
          this.queuedBytes -= job.length;
          if (m.result) job.resolve(m.result);
          else job.reject(new Error(`detector registry failed in a detection thread: ${m.error}`));
        }
        this.dispatch();
      });
      const stop = (why: string) => {
        if (!t.alive) return;
        t.alive = false;
        for (const job of t.jobs.values()) {
          this.queuedBytes -= job.length;
          job.reject(new ShelflifeError('detector-crash', `the detection thread stopped while reading it: ${why}`, { uri: job.ctx.uri }));
        }
        t.jobs.clear();
        t.batches = 0;
        if (!this.threads.some((x) => x.alive)) this.runQueueInline();
        else this.dispatch();
      };
      worker.on('error', (e) => stop(e.message));
      worker.on('exit', (code) => {
        if (!this.closing) stop(`exit code ${code}`);
      });
      this.threads.push(t);
    }
  }

  private dispatch(): void {
    for (let depth = 0; depth < DEPTH; depth++) {
      for (const t of this.threads) {
        if (!this.queue.length) return;
        if (!t.alive || t.batches > depth) continue;
        // An idle thread takes its share of what waits (the others get theirs in this same pass), up to BATCH.
        const idle = this.threads.filter((x) => x.alive && x.batches <= depth).length;
        const batch = this.queue.splice(0, Math.min(BATCH, Math.ceil(this.queue.length / idle)));
        for (const job of batch) t.jobs.set(job.id, job);
        t.batches++;
        this.sent += batch.length;
        t.worker.postMessage(
          batch.map((j) => ({ id: j.id, bytes: j.bytes, ctx: j.ctx, options: j.options })),
          batch.map((j) => j.bytes.buffer as ArrayBuffer),
        );
      }
    }
  }

  /** No thread left: what waits in the queue was never sent (its copy is still here), so it is detected inline. */
  private runQueueInline(): void {
    for (const job of this.queue.splice(0)) {
      this.queuedBytes -= job.length;
      // What escapes the registry is a bug: it fails this artifact's scan as it would have inline.
      try {
        job.resolve(runDetectors(job.bytes, job.ctx, job.options));
      } catch (e) {
        job.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }
}
