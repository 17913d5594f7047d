/**
 * Distributed-scan test helpers: a fresh PostgreSQL database per test (the shared inventory, and BullMQ's queue on
 * the PostgreSQL backend), `shelflife worker` processes run from the built CLI, and the report with its volatile
 * fields (scan id, finish time) redacted for comparison.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import type { ScanResult } from '../../src/model.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** A new, empty database on the test server: its URL. */
export async function freshDatabase(serverUrl: string): Promise<string> {
  const name = `sl_${randomBytes(6).toString('hex')}`;
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.href;
}

export function uniqueQueueName(): string {
  return `t${randomBytes(6).toString('hex')}`;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** stderr so far. */
  log(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** `shelflife worker …` as its own process; resolves once it says it is ready. */
export async function startWorkerProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'shelflife.js'), 'worker', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready after 30 s: ${err}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('ready (pid')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before it was ready: ${err}`));
    });
  });
  return { child, log: () => err, exited };
}

/** Stop a worker the way Kubernetes does (SIGTERM), and wait for it. */
export async function stopWorker(w: WorkerProcess): Promise<number | null> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  return w.exited;
}

/** The report as JSON with what differs between any two runs (scan id, finish time) replaced. */
export function redactedReport(r: ScanResult): string {
  return JSON.stringify({ ...r, scan: { ...r.scan, id: '<id>', finishedAt: '<finished>' } }, null, 1);
}
