/**
 * Signing over worker threads: one worker per core holds the key and signs; the caller keeps hashing and I/O on the
 * main thread. With `size` 0 the pool signs inline (no threads), which is what a single small resign needs.
 * @module
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ShelflifeError } from '../errors.js';
import { sign, type PrivateKey } from './composite.js';

export class SignerPool {
  private readonly workers: Worker[] = [];
  /** Messages in flight per worker: two each, so a worker never waits for the main thread between signatures. */
  private readonly inFlight = new Map<Worker, number>();
  private readonly queue: { id: number; message: Uint8Array }[] = [];
  private readonly pending = new Map<number, { resolve: (s: Uint8Array) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failed: ShelflifeError | undefined;
  private closing = false;

  constructor(
    private readonly key: PrivateKey,
    size = availableParallelism(),
  ) {
    // The worker is this module's sibling; under tsx/vitest it is a .ts file and needs tsx's loader too.
    const ts = import.meta.url.endsWith('.ts');
    const url = new URL(`./sign-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
    for (let i = 0; i < size; i++) {
      const workerData = { oid: key.alg.oid, key: key.bytes };
      // From source (tsx, vitest) the worker is TypeScript: register tsx's loader inside the thread, then import it.
      const w = ts
        ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData })
        : new Worker(url, { workerData });
      w.on('message', (m: { id: number; signature?: Uint8Array; error?: string }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.signature) p?.resolve(new Uint8Array(m.signature));
        else p?.reject(new ShelflifeError('resign', `signing failed: ${m.error}`));
        this.release(w);
      });
      // A dead worker fails everything in flight and every later call, rather than leaving promises hanging.
      const fail = (e: Error) => {
        this.failed ??= new ShelflifeError('resign', `signing worker stopped: ${e.message}`);
        for (const p of this.pending.values()) p.reject(this.failed);
        this.pending.clear();
        this.queue.length = 0;
      };
      w.on('error', fail);
      w.on('exit', (code) => {
        if (!this.closing) fail(new Error(`exit code ${code}`));
      });
      this.workers.push(w);
      this.inFlight.set(w, 0);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.workers.length === 0) return Promise.resolve(sign(this.key, message));
    const id = this.nextId++;
    const p = new Promise<Uint8Array>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.queue.push({ id, message });
    this.dispatch();
    return p;
  }

  private release(w: Worker): void {
    this.inFlight.set(w, (this.inFlight.get(w) ?? 1) - 1);
    this.dispatch();
  }

  private dispatch(): void {
    for (const depth of [0, 1]) {
      for (const w of this.workers) {
        if (!this.queue.length) return;
        if ((this.inFlight.get(w) ?? 0) > depth) continue;
        this.inFlight.set(w, (this.inFlight.get(w) ?? 0) + 1);
        w.postMessage(this.queue.shift()!);
      }
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
    this.inFlight.clear();
  }
}
