/**
 * bench/startup: a whole `shelflife scan` of one certificate file, process start to exit, against a bare `node -e 0`
 * measured in the same run (interleaved, so both see the same machine load).
 *
 *   npm run build && npx tsx bench/startup.ts [--runs 21]
 *
 * Runs the built binary with `node bin/shelflife.js` as a user's PATH does (not through npx, which adds ~0.5 s of its
 * own). Prints the median and spread of wall and CPU time (user + system, from GNU time) for both, their ratio, and
 * the load average, since the machine is shared. Target: ≤ 0.15 s wall for the scan (bare node: ~0.06 s).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const CERT = join(ROOT, 'fixtures', 'pki', 'certs', 'ec-P-256.pem');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 21);

interface Run {
  wall: number;
  cpu: number;
}

function timed(args: string[]): Run {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', process.execPath, ...args], { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { wall, cpu: user + sys };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`;

function main(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  const scanArgs = [BIN, 'scan', CERT, '--no-db', '--quiet', '--format', 'json', '-o', '/dev/null'];
  const load0 = loadavg()[0];
  // One warm-up of each (page cache), then interleaved runs.
  timed(scanArgs);
  timed(['-e', '0']);
  const scan: Run[] = [];
  const bare: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    scan.push(timed(scanArgs));
    bare.push(timed(['-e', '0']));
  }
  const load1 = loadavg()[0];
  const row = (name: string, rs: Run[]) =>
    `${name.padEnd(34)}wall ${median(rs.map((r) => r.wall)).toFixed(3)} s (${spread(rs.map((r) => r.wall))})   cpu ${median(rs.map((r) => r.cpu)).toFixed(3)} s (${spread(rs.map((r) => r.cpu))})`;
  console.log(`\nbench/startup: ${RUNS} interleaved runs each, load average ${load0.toFixed(2)} → ${load1.toFixed(2)} (2-core machine)`);
  console.log(row('shelflife scan <one certificate>', scan));
  console.log(row('node -e 0', bare));
  const wall = median(scan.map((r) => r.wall));
  const ratioWall = wall / median(bare.map((r) => r.wall));
  const ratioCpu = median(scan.map((r) => r.cpu)) / median(bare.map((r) => r.cpu));
  console.log(`ratio to node -e 0: wall ${ratioWall.toFixed(2)}x, cpu ${ratioCpu.toFixed(2)}x`);
  console.log(`scan wall ${wall.toFixed(3)} s   target <= 0.15 s   ${wall <= 0.15 ? 'PASS' : 'FAIL (see the load average)'}`);
}

main();
