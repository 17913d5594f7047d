/**
 * bench/scale-out: a distributed scan (`shelflife worker`s on a BullMQ queue, PostgreSQL inventory) against the
 * one-process scan of the same tree on the same cores, on both queue backends, and where a distributed scan's time
 * goes (planning, units, staging, the queue between jobs, the finalize step).
 *
 *   npm run build && npx tsx bench/scale-out.ts [--files 40000] [--per-dir 200] [--unit-size 256,1024] [--runs 3]
 *                                               [--workers 1,2,4] [--backends postgres,redis] [--profile DIR]
 *
 * The tree (made once under /tmp/shelflife-bench-scale-out/, reused by later runs): `--files` small files, `--per-dir`
 * to a directory, 10 directories to a parent, made from the certificate, key, OpenPGP and SSH fixtures under fixtures/
 * (made by openssl, gpg and ssh-keygen: fixtures/gen/) and from small files no detector claims (a third of the
 * tree), repeated under distinct names. Each measurement is a fresh process tree and a fresh PostgreSQL database
 * (the servers are the test setup's: PostgreSQL 15 and redis-server on 127.0.0.1, not held to a core):
 *   - one process, `taskset -c 0` (one core) and `taskset -c 0,1` (two cores): artifacts/s, the baselines;
 *   - 1, 2 and 4 workers, each held to one core (`taskset -c <i mod 2>`, `--concurrency 1`), the producer waiting
 *     (`--progress-ms`-free: it polls every 0.5 s): artifacts/s from enqueue to the report written, per backend and
 *     unit size (`--unit-size`, directory entries per unit).
 * Every figure is the median of `--runs` runs, with the spread (min–max). Goals (issue 19): 2 workers ≥ 1.7× 1 worker;
 * the distributed scan within 15% of the one-process scan's time on the same cores (1 worker vs one core, 2 workers vs
 * two cores). Where the time goes, from BullMQ's own job records: the planning job, units run (their time scanning
 * and staging, as each unit job returns it), the queue's time between two jobs of one worker, and the tail from the
 * last unit to the report. The machine is shared: the load average before and after each run is printed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { smallFixtureFiles } from './_seeds.js';
import { Queue, type Job } from 'bullmq';
import pg from 'pg';
import { queueConnection } from '../src/queue/connection.js';
import setupPostgres from '../test/setup/postgres.js';
import setupRedis from '../test/setup/redis.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const argText = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const FILES = Number(argText('files', '40000'));
const PER_DIR = Number(argText('per-dir', '200'));
const UNIT_SIZES = argText('unit-size', '256,1024').split(',').map(Number);
const RUNS = Number(argText('runs', '3'));
const WORKERS = argText('workers', '1,2,4').split(',').map(Number);
const BACKENDS = argText('backends', 'postgres,redis').split(',');
/** `--profile DIR`: the producer (which finalizes) runs under `node --cpu-prof`, its profiles written to DIR. */
const PROFILE = process.argv.includes('--profile') ? argText('profile', '') : undefined;
const TREE = join('/tmp', 'shelflife-bench-scale-out', `tree-${FILES}-${PER_DIR}`);

function buildTree(): void {
  if (existsSync(join(TREE, '.complete'))) return;
  rmSync(TREE, { recursive: true, force: true });
  const s = smallFixtureFiles(ROOT);
  console.log(`building ${FILES} files (${PER_DIR} to a directory) from ${s.length} fixtures under ${TREE} …`);
  for (let i = 0; i < FILES; i++) {
    const d = Math.floor(i / PER_DIR);
    const sub = join(TREE, `g${Math.floor(d / 10)}`, `d${d}`);
    if (i % PER_DIR === 0) mkdirSync(sub, { recursive: true });
    // A third of the files are of no format a detector claims (configuration, text, random bytes): read and dropped.
    if (i % 3 === 2) writeFileSync(join(sub, `${i}.dat`), i % 2 ? randomBytes(512 + (i % 2048)) : `setting_${i} = ${i * 7}\n`.repeat(1 + (i % 40)));
    else copyFileSync(s[i % s.length], join(sub, `${i}-${basename(s[i % s.length])}`));
  }
  writeFileSync(join(TREE, '.complete'), '');
}

async function freshDb(server: string): Promise<string> {
  const name = `bench_${randomBytes(5).toString('hex')}`;
  const c = new pg.Client({ connectionString: server });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(server);
  u.pathname = `/${name}`;
  return u.href;
}

function run(cores: string, args: string[], node: string[] = []): { ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync('taskset', ['-c', cores, process.execPath, ...node, BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const ms = performance.now() - t0;
  if (r.status !== 0 && r.status !== 1) throw new Error(`shelflife ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return { ms, out: r.stdout };
}

async function startWorker(core: number, args: string[]): Promise<ChildProcess> {
  const child = spawn('taskset', ['-c', String(core), process.execPath, BIN, 'worker', '--concurrency', '1', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('ready (pid')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited ${code}: ${err}`)));
  });
  return child;
}

async function stop(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : (c.once('exit', r), c.kill('SIGTERM'))))));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const load = () => loadavg()[0].toFixed(1);

interface Breakdown {
  units: number;
  /** The root unit's planning (split) job. */
  planMs: number;
  /** Sum over units of the time in the job processor, and of the scanning and staging parts it returned. */
  unitMs: number;
  scanMs: number;
  stageMs: number;
  /** Per worker, the time between finishing one job and starting the next, summed over the workers (the queue). */
  gapMs: number;
  /** Enqueue to the first unit started; the last unit finished to the report written (finalize and the poll). */
  headMs: number;
  tailMs: number;
}

async function breakdown(queueUrl: string, name: string, t0: number, t1: number): Promise<Breakdown> {
  const conn = await queueConnection(queueUrl, name);
  const q = new Queue(name, { connection: conn.connection as never }, conn.factory as never);
  try {
    const jobs = (await q.getCompleted(0, 1_000_000)) as Job<{ unit?: { split?: boolean } }, { scanMs?: number; stageMs?: number }>[];
    const units = jobs.filter((j) => j.name === 'unit' && !j.data.unit?.split);
    const plan = jobs.filter((j) => j.name === 'unit' && j.data.unit?.split);
    const span = (j: Job) => (j.finishedOn ?? 0) - (j.processedOn ?? 0);
    const byWorker = new Map<string, Job[]>();
    for (const j of [...units, ...plan]) byWorker.set(j.processedBy ?? '?', [...(byWorker.get(j.processedBy ?? '?') ?? []), j]);
    let gapMs = 0;
    for (const list of byWorker.values()) {
      list.sort((a, b) => (a.processedOn ?? 0) - (b.processedOn ?? 0));
      for (let i = 1; i < list.length; i++) gapMs += Math.max(0, (list[i].processedOn ?? 0) - (list[i - 1].finishedOn ?? 0));
    }
    const first = Math.min(...[...units, ...plan].map((j) => j.processedOn ?? Infinity));
    const last = Math.max(...units.map((j) => j.finishedOn ?? 0));
    return {
      units: units.length,
      planMs: plan.reduce((n, j) => n + span(j), 0),
      unitMs: units.reduce((n, j) => n + span(j), 0),
      scanMs: units.reduce((n, j) => n + (j.returnvalue?.scanMs ?? 0), 0),
      stageMs: units.reduce((n, j) => n + (j.returnvalue?.stageMs ?? 0), 0),
      gapMs,
      headMs: first - t0,
      tailMs: t1 - last,
    };
  } finally {
    await q.close();
    await (conn.connection as { end?: () => Promise<void> }).end?.();
  }
}

async function main(): Promise<void> {
  buildTree();
  const provided: Record<string, { url?: string; reason?: string }> = {};
  const project = { provide: (k: string, v: { url?: string; reason?: string }) => (provided[k] = v) } as never;
  const teardown = [await setupPostgres(project), await setupRedis(project)];
  try {
    const server = provided.postgres?.url;
    const redis = provided.redis?.url;
    if (!server) throw new Error(`no PostgreSQL: ${provided.postgres?.reason}`);
    const opts = ['-f', 'json', '--no-progress', '--now', '2026-06-01T00:00:00Z'];
    const artifactsOf = (out: string) => (JSON.parse(out) as { scan: { stats: { artifacts: number } } }).scan.stats.artifacts;
    const rows: { label: string; cores: string; ms: number[]; artifacts: number; loads: string[]; parts?: Breakdown[] }[] = [];
    const record = (label: string, cores: string, ms: number, artifacts: number, loadBefore: string, parts?: Breakdown) => {
      let row = rows.find((r) => r.label === label);
      if (!row) rows.push((row = { label, cores, ms: [], artifacts, loads: [], ...(parts ? { parts: [] } : {}) }));
      if (row.artifacts !== artifacts) throw new Error(`${label}: ${artifacts} artifacts, ${row.artifacts} before`);
      row.ms.push(ms);
      row.loads.push(`${loadBefore}→${load()}`);
      if (parts) row.parts!.push(parts);
      const p = parts
        ? `; ${parts.units} units, plan ${(parts.planMs / 1000).toFixed(2)} s, units ${(parts.unitMs / 1000).toFixed(1)} s (scan ${(parts.scanMs / 1000).toFixed(1)}, stage ${(parts.stageMs / 1000).toFixed(1)}), queue gaps ${(parts.gapMs / 1000).toFixed(2)} s, head ${(parts.headMs / 1000).toFixed(2)} s, tail ${(parts.tailMs / 1000).toFixed(2)} s`
        : '';
      console.log(`${label}: ${(ms / 1000).toFixed(2)} s, ${artifacts} artifacts (load ${row.loads.at(-1)})${p}`);
    };
    const backends: [string, (db: string) => string][] = [];
    if (BACKENDS.includes('postgres')) backends.push(['postgres', (db) => db]);
    if (BACKENDS.includes('redis') && redis) backends.push(['redis', () => redis]);
    for (let run_ = 0; run_ < RUNS; run_++) {
      for (const cores of ['0', '0,1']) {
        const db = await freshDb(server);
        const l = load();
        const r = run(cores, ['scan', TREE, '--db', db, ...opts]);
        record(`one process, ${cores === '0' ? 'one core' : 'two cores'}`, cores, r.ms, artifactsOf(r.out), l);
      }
      for (const [backend, queueOf] of backends)
        for (const size of UNIT_SIZES)
          for (const n of WORKERS) {
            const db = await freshDb(server);
            const queue = queueOf(db);
            const name = `b${randomBytes(4).toString('hex')}`;
            const workers: ChildProcess[] = [];
            for (let i = 0; i < n; i++) workers.push(await startWorker(i % 2, ['--queue', queue, '--queue-name', name, '--db', db]));
            const l = load();
            const t0 = Date.now();
            // The producer only waits (and finalizes): it shares the workers' cores.
            const r = run(
              '0,1',
              ['scan', TREE, '--db', db, '--queue', queue, '--queue-name', name, '--unit-size', String(size), ...opts],
              PROFILE ? ['--cpu-prof', '--cpu-prof-dir', PROFILE] : [],
            );
            const t1 = Date.now();
            await stop(workers);
            const parts = await breakdown(queue, name, t0, t1);
            record(`${backend} queue, ${n} worker${n > 1 ? 's' : ''}, ${size} entries/unit`, n === 1 ? '0' : '0,1', r.ms, artifactsOf(r.out), l, parts);
          }
    }
    console.log(`\ntree: ${FILES} files, ${PER_DIR} to a directory (${TREE}); ${RUNS} run(s) each; median (min–max)`);
    console.log('| run | s | artifacts/s | vs one process on the same cores | per unit: queue gap, staging |');
    console.log('|---|---|---|---|---|');
    const get = (label: string) => rows.find((x) => x.label === label)!;
    const fmt = (xs: number[]) => `${(median(xs) / 1000).toFixed(2)} (${(Math.min(...xs) / 1000).toFixed(2)}–${(Math.max(...xs) / 1000).toFixed(2)})`;
    for (const x of rows) {
      const base = get(x.cores === '0' ? 'one process, one core' : 'one process, two cores');
      const per = x.parts
        ? `${median(x.parts.map((p) => p.gapMs / Math.max(1, p.units))).toFixed(1)} ms, ${median(x.parts.map((p) => p.stageMs / Math.max(1, p.units))).toFixed(1)} ms`
        : '';
      console.log(
        `| ${x.label} | ${fmt(x.ms)} | ${(x.artifacts / (median(x.ms) / 1000)).toFixed(0)} | ${(median(base.ms) / median(x.ms)).toFixed(2)}× | ${per} |`,
      );
    }
    for (const [backend] of backends)
      for (const size of UNIT_SIZES) {
        const w = (n: number) => rows.find((x) => x.label === `${backend} queue, ${n} worker${n > 1 ? 's' : ''}, ${size} entries/unit`);
        const w1 = w(1);
        const w2 = w(2);
        if (!w1 || !w2) continue;
        const one = get('one process, one core');
        const two = get('one process, two cores');
        console.log(
          `${backend}, ${size} entries/unit: 2 workers = ${(median(w1.ms) / median(w2.ms)).toFixed(2)}× 1 worker (goal ≥ 1.7); ` +
            `1 worker vs one process on one core: ${((median(w1.ms) / median(one.ms) - 1) * 100).toFixed(0)}%, ` +
            `2 workers vs one process on two cores: ${((median(w2.ms) / median(two.ms) - 1) * 100).toFixed(0)}% (goal ≤ 15%)`,
        );
      }
  } finally {
    for (const t of teardown) await t();
  }
}

await main();
