/**
 * bench/scale-out: a distributed scan (`shelflife worker`s on a BullMQ queue, PostgreSQL inventory) against the
 * one-process scan of the same tree on the same cores, on both queue backends.
 *
 *   npm run build && npx tsx bench/scale-out.ts [--copies 4]
 *
 * The tree is `fixtures/` copied N times (cached under .bench-data/). Each measurement is a fresh process and a fresh
 * PostgreSQL database (the servers are the test setup's: PostgreSQL 15 and redis-server on 127.0.0.1):
 *   - one process, `taskset -c 0` (one core) and `taskset -c 0,1` (two cores): artifacts/s, the baselines;
 *   - 1, 2 and 4 workers, each held to one core (`taskset -c <i mod 2>`, `--concurrency 1`), the producer waiting:
 *     artifacts/s from enqueue to the report written, on the PostgreSQL queue and on the Redis queue.
 * Goals (issue 19): 2 workers ≥ 1.7× 1 worker; the distributed scan within 15% of the one-process scan's time on the
 * same cores. The queue's overhead per job: (1 worker − one process on one core) / jobs run.
 * The machine is shared: the load average is printed with the figures.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import setupPostgres from '../test/setup/postgres.js';
import setupRedis from '../test/setup/redis.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const COPIES = arg('copies', 4);
const TREE = join(ROOT, '.bench-data', 'scale-out', `fixtures-x${COPIES}`);

function buildTree(): void {
  if (existsSync(join(TREE, `copy-${COPIES - 1}`))) return;
  mkdirSync(TREE, { recursive: true });
  for (let i = 0; i < COPIES; i++) cpSync(join(ROOT, 'fixtures'), join(TREE, `copy-${i}`), { recursive: true });
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

function run(cores: string, args: string[]): { ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync('taskset', ['-c', cores, process.execPath, BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
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
    const results: { label: string; ms: number; artifacts: number; jobs?: number }[] = [];
    for (const cores of ['0', '0,1']) {
      const db = await freshDb(server);
      const r = run(cores, ['scan', TREE, '--db', db, ...opts]);
      results.push({ label: `one process, cores ${cores}`, ms: r.ms, artifacts: artifactsOf(r.out) });
      console.log(`${results.at(-1)!.label}: ${(r.ms / 1000).toFixed(2)} s, ${artifactsOf(r.out)} artifacts`);
    }
    const backends: [string, (db: string) => string][] = [['postgres', (db) => db]];
    if (redis) backends.push(['redis', () => redis]);
    for (const [backend, queueOf] of backends) {
      for (const n of [1, 2, 4]) {
        const db = await freshDb(server);
        const queue = queueOf(db);
        const name = `b${randomBytes(4).toString('hex')}`;
        const workers: ChildProcess[] = [];
        for (let i = 0; i < n; i++) workers.push(await startWorker(i % 2, ['--queue', queue, '--queue-name', name, '--db', db]));
        // The producer only waits: it shares the workers' cores.
        const r = run('0,1', ['scan', TREE, '--db', db, '--queue', queue, '--queue-name', name, ...opts]);
        await stop(workers);
        const status = JSON.parse(
          spawnSync(process.execPath, [BIN, 'queue', 'status', '--queue', queue, '--queue-name', name, '--format', 'json'], { encoding: 'utf8' }).stdout,
        ) as { counts: { completed: number } };
        results.push({ label: `${backend} queue, ${n} worker${n > 1 ? 's' : ''}`, ms: r.ms, artifacts: artifactsOf(r.out), jobs: status.counts.completed });
        console.log(`${results.at(-1)!.label}: ${(r.ms / 1000).toFixed(2)} s, ${artifactsOf(r.out)} artifacts, ${status.counts.completed} jobs`);
      }
    }
    const get = (label: string) => results.find((x) => x.label === label)!;
    const rate = (x: { ms: number; artifacts: number }) => x.artifacts / (x.ms / 1000);
    console.log(
      `\nload average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}; tree: fixtures/ × ${COPIES}, 256 directory entries per unit`,
    );
    console.log('| run | s | artifacts/s | vs one process on the same cores |');
    console.log('|---|---|---|---|');
    for (const x of results) {
      const base = x.label.includes('1 worker') || x.label.endsWith('cores 0') ? get('one process, cores 0') : get('one process, cores 0,1');
      console.log(`| ${x.label} | ${(x.ms / 1000).toFixed(2)} | ${rate(x).toFixed(0)} | ${(base.ms / x.ms).toFixed(2)}× |`);
    }
    for (const [backend] of backends) {
      const w1 = get(`${backend} queue, 1 worker`);
      const w2 = get(`${backend} queue, 2 workers`);
      const base = get('one process, cores 0');
      console.log(
        `${backend}: 2 workers = ${(rate(w2) / rate(w1)).toFixed(2)}× 1 worker (goal ≥ 1.7); 2 workers vs one process on 2 cores: ${((w2.ms / get('one process, cores 0,1').ms - 1) * 100).toFixed(0)}% slower (goal ≤ 15%); queue overhead ${((w1.ms - base.ms) / (w1.jobs ?? 1)) | 0} ms per job (${w1.jobs} jobs)`,
      );
    }
  } finally {
    for (const t of teardown) await t();
  }
}

await main();
