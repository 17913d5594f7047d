/**
 * bench/rescan: an unchanged rescan of 10,000 tiny files against the first scan of the same tree into a fresh
 * inventory, measured in the same run. Target (issue 17): the rescan ≥ 10× faster than the first scan.
 *
 *   npm run build && npx tsx bench/rescan.ts [--files 10000] [--runs 3]
 *
 * The tree is made (once, cached under .bench-data/) from the certificate and key fixtures under fixtures/pki/ (no
 * outside tool needed), repeated under distinct names in directories of 500. Each run: a first scan into a new SQLite
 * inventory, then two rescans of the unchanged tree (the first rescan also carries everything over; the second shows
 * a steady state). Whole processes with the built CLI, JSON report to a file, as a scheduled scan runs. Wall and CPU
 * (user + system) are printed with the load average, since the machine is shared.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { extname, join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const FILES = arg('files', 10_000);
const RUNS = arg('runs', 3);
const DATA = join(ROOT, '.bench-data', 'rescan');
const TREE = join(DATA, `tree-${FILES}`);

function buildTree(): void {
  if (existsSync(join(TREE, '.complete'))) return;
  rmSync(TREE, { recursive: true, force: true });
  const seeds: string[] = [];
  for (const d of ['certs', 'keys'].map((x) => join(ROOT, 'fixtures', 'pki', x)))
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      const st = statSync(p);
      if (st.isFile() && st.size < 8192) seeds.push(p);
    }
  console.log(`building ${FILES} files from ${seeds.length} fixtures under ${TREE} …`);
  for (let i = 0; i < FILES; i++) {
    const sub = join(TREE, `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(sub, { recursive: true });
    const s = seeds[i % seeds.length];
    copyFileSync(s, join(sub, `f${i}${extname(s)}`));
  }
  writeFileSync(join(TREE, '.complete'), '');
}

interface Run {
  wall: number;
  cpu: number;
  rssMB: number;
}

function timed(args: string[]): Run {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', process.execPath, BIN, ...args], { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`shelflife ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [user, sys, rss] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { wall, cpu: user + sys, rssMB: rss / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (rs: Run[], k: 'wall' | 'cpu') =>
  `${median(rs.map((r) => r[k])).toFixed(2)} s (${Math.min(...rs.map((r) => r[k])).toFixed(2)}–${Math.max(...rs.map((r) => r[k])).toFixed(2)})`;

function main(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  buildTree();
  const load0 = loadavg()[0];
  const first: Run[] = [];
  const rescan: Run[] = [];
  let reused = 0;
  let artifacts = 0;
  for (let i = 0; i < RUNS; i++) {
    const db = join(DATA, `inventory-${process.pid}-${i}.db`);
    const out = join(DATA, `out-${process.pid}.json`);
    const scanArgs = ['scan', TREE, '--quiet', '--format', 'json', '-o', out, '--db', db];
    first.push(timed(scanArgs));
    for (let k = 0; k < 2; k++) rescan.push(timed(scanArgs));
    const stats = (JSON.parse(readFileSync(out, 'utf8')) as { scan: { stats: { artifacts: number; reused?: number } } }).scan.stats;
    reused = stats.reused ?? 0;
    artifacts = stats.artifacts;
    for (const x of ['', '-wal', '-shm']) rmSync(`${db}${x}`, { force: true });
    rmSync(out, { force: true });
  }
  const load1 = loadavg()[0];
  console.log(
    `\nbench/rescan: ${FILES} tiny files, ${RUNS} runs (first scan + 2 rescans each), load average ${load0.toFixed(2)} → ${load1.toFixed(2)} (2-core machine)`,
  );
  console.log(`first scan, fresh inventory   wall ${fmt(first, 'wall')}   cpu ${fmt(first, 'cpu')}   RSS ${median(first.map((r) => r.rssMB)).toFixed(0)} MB`);
  console.log(
    `unchanged rescan              wall ${fmt(rescan, 'wall')}   cpu ${fmt(rescan, 'cpu')}   RSS ${median(rescan.map((r) => r.rssMB)).toFixed(0)} MB`,
  );
  console.log(`last rescan: ${reused} of ${artifacts} artifacts carried over`);
  const wall = median(first.map((r) => r.wall)) / median(rescan.map((r) => r.wall));
  const cpu = median(first.map((r) => r.cpu)) / median(rescan.map((r) => r.cpu));
  console.log(`rescan speed-up: wall ${wall.toFixed(1)}x, cpu ${cpu.toFixed(1)}x   target >= 10x   ${wall >= 10 ? 'PASS' : 'FAIL'}`);
}

main();
