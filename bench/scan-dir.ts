/**
 * bench/scan-dir: throughput and memory of a directory scan, against a named baseline.
 *
 *   npx tsx bench/scan-dir.ts [--files 10000] [--sparse-gib 4] [--baseline-sample 300]
 *
 * Builds (once, cached under .bench-data/) a directory of N certificate/key/signature files made by openssl, and one
 * sparse file of G GiB with a certificate in its middle. Then, with the built CLI (dist/, `npm run build` first):
 *   - shelflife scan of the directory: artifacts/s, MB/s, peak RSS;
 *   - shelflife scan of the sparse file: MB/s, peak RSS (target < 300 MB);
 *   - baseline: `openssl x509 -noout -text` once per certificate file (sampled: the per-file cost is constant),
 *     files/s. Target: shelflife ≥ 50× the baseline's files/s.
 * Peak RSS comes from GNU time (%M) around a fresh process, so it includes everything the process touched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync, ftruncateSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const FILES = arg('files', 10_000);
const SPARSE_GIB = arg('sparse-gib', 4);
const SAMPLE = arg('baseline-sample', 300);
const DATA = join(ROOT, '.bench-data', 'scan-dir');
const DIR = join(DATA, `tree-${FILES}`);
const SPARSE = join(DATA, `sparse-${SPARSE_GIB}g.img`);
const BIN = join(ROOT, 'bin', 'shelflife.js');

function sh(cmd: string, args: string[], cwd?: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A few dozen distinct objects made by openssl; the tree repeats them under distinct names. */
function makeSeeds(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const seeds: string[] = [];
  const kinds: [string, string[]][] = [
    ['rsa2048', ['-newkey', 'rsa:2048']],
    ['rsa3072', ['-newkey', 'rsa:3072']],
    ['p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']],
    ['p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']],
    ['ed25519', ['-newkey', 'ed25519']],
  ];
  for (const [name, opts] of kinds) {
    const key = join(dir, `${name}.key`);
    const crt = join(dir, `${name}.crt`);
    sh('openssl', ['req', '-x509', ...opts, '-nodes', '-keyout', key, '-out', crt, '-subj', `/CN=bench ${name}`, '-days', '365']);
    sh('openssl', ['x509', '-in', crt, '-outform', 'DER', '-out', join(dir, `${name}.der`)]);
    writeFileSync(join(dir, `${name}.msg`), `payload for ${name}\n`);
    if (name !== 'ed25519') {
      sh('openssl', [
        'cms',
        '-sign',
        '-binary',
        '-in',
        join(dir, `${name}.msg`),
        '-signer',
        crt,
        '-inkey',
        key,
        '-outform',
        'DER',
        '-out',
        join(dir, `${name}.p7s`),
      ]);
      seeds.push(join(dir, `${name}.p7s`));
    }
    seeds.push(crt, key, join(dir, `${name}.der`));
  }
  return seeds;
}

function buildTree(): void {
  if (existsSync(join(DIR, '.complete'))) return;
  console.log(`building ${FILES} files under ${DIR} …`);
  const seeds = makeSeeds(join(DATA, 'seeds'));
  const contents = seeds.map((s) => ({ ext: s.split('.').pop()!, bytes: readFileSync(s) }));
  for (let i = 0; i < FILES; i++) {
    const sub = join(DIR, `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(sub, { recursive: true });
    const c = contents[i % contents.length];
    writeFileSync(join(sub, `f${i}.${c.ext}`), c.bytes);
  }
  writeFileSync(join(DIR, '.complete'), '');
}

function buildSparse(): void {
  if (existsSync(SPARSE) && statSync(SPARSE).size === SPARSE_GIB * 2 ** 30) return;
  console.log(`building sparse ${SPARSE_GIB} GiB file …`);
  const der = readFileSync(join(DATA, 'seeds', 'rsa3072.der'));
  const fd = openSync(SPARSE, 'w');
  ftruncateSync(fd, SPARSE_GIB * 2 ** 30);
  writeSync(fd, der, 0, der.length, Math.floor(SPARSE_GIB * 2 ** 29) + 12345);
  closeSync(fd);
}

/** 10,000 firmware-sized images (1 MiB each, sparse on disk, a DER certificate at a varying offset in each). */
function buildImageTree(count: number): string {
  const dir = join(DATA, `images-${count}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  console.log(`building ${count} sparse 1 MiB images under ${dir} …`);
  const der = readFileSync(join(DATA, 'seeds', 'p256.der'));
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(sub, { recursive: true });
    const fd = openSync(join(sub, `fw${i}.bin`), 'w');
    ftruncateSync(fd, 1 << 20);
    writeSync(fd, der, 0, der.length, 4096 + ((i * 7919) % 900_000));
    closeSync(fd);
  }
  writeFileSync(join(dir, '.complete'), '');
  return dir;
}

function timed(cmd: string, args: string[]): { seconds: number; rssMB: number; stdout: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  const rssKB = Number(r.stderr.trim().split('\n').pop());
  return { seconds, rssMB: rssKB / 1024, stdout: r.stdout };
}

function main(): void {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  buildTree();
  buildSparse();
  const dirBytes = Number(sh('du', ['-sb', DIR]).split('\t')[0]);

  const scanDir = timed(process.execPath, [BIN, 'scan', DIR, '--format', 'json', '--quiet', '-o', join(DATA, 'out-dir.json'), '--concurrency', '8', '--no-db']);
  // Incremental: a first scan recorded in a fresh inventory, then a rescan of the unchanged tree (issue 7: ≥ 10×).
  const db = join(DATA, `inventory-${process.pid}.db`);
  const first = timed(process.execPath, [BIN, 'scan', DIR, '--quiet', '-o', join(DATA, 'out-first.json'), '--concurrency', '8', '--db', db]);
  const rescan = timed(process.execPath, [BIN, 'scan', DIR, '--quiet', '-o', join(DATA, 'out-rescan.json'), '--concurrency', '8', '--db', db]);
  const rescanStats = (JSON.parse(readFileSync(join(DATA, 'out-rescan.json'), 'utf8')) as { scan: { stats: { reused?: number; bytes: number } } }).scan.stats;
  // The same with artifacts of realistic size: reading dominates a first scan, bookkeeping a rescan.
  const images = buildImageTree(FILES);
  const db2 = join(DATA, `inventory-img-${process.pid}.db`);
  const firstImg = timed(process.execPath, [BIN, 'scan', images, '--quiet', '-o', join(DATA, 'out-img1.json'), '--concurrency', '8', '--db', db2]);
  const rescanImg = timed(process.execPath, [BIN, 'scan', images, '--quiet', '-o', join(DATA, 'out-img2.json'), '--concurrency', '8', '--db', db2]);
  for (const f of [db, db2]) for (const x of ['', '-wal', '-shm']) rmSync(`${f}${x}`, { force: true });
  const out = JSON.parse(readFileSync(join(DATA, 'out-dir.json'), 'utf8')) as { scan: { stats: { artifacts: number; findings: number; errors: number } } };
  const dirRate = out.scan.stats.artifacts / scanDir.seconds;

  const scanSparse = timed(process.execPath, [BIN, 'scan', SPARSE, '--format', 'json', '--quiet', '-o', join(DATA, 'out-sparse.json'), '--no-db']);
  const sparseOut = JSON.parse(readFileSync(join(DATA, 'out-sparse.json'), 'utf8')) as { scan: { stats: { findings: number } } };

  // Baseline: openssl x509 -noout -text, once per certificate file, over a sample of the tree's certificate files.
  const certFiles: string[] = [];
  for (const d of readdirSync(DIR)) {
    if (d.startsWith('.')) continue;
    for (const f of readdirSync(join(DIR, d))) if (f.endsWith('.crt')) certFiles.push(join(DIR, d, f));
    if (certFiles.length >= SAMPLE) break;
  }
  const sample = certFiles.slice(0, SAMPLE);
  const t0 = process.hrtime.bigint();
  for (const f of sample) execFileSync('openssl', ['x509', '-noout', '-text', '-in', f], { stdio: 'ignore' });
  const baseSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const baseRate = sample.length / baseSeconds;

  const ratio = dirRate / baseRate;
  const sparseMBs = (SPARSE_GIB * 1024) / scanSparse.seconds;
  const rows = [
    [
      'shelflife scan dir',
      `${out.scan.stats.artifacts} artifacts`,
      `${scanDir.seconds.toFixed(2)} s`,
      `${dirRate.toFixed(0)} artifacts/s`,
      `${(dirBytes / 2 ** 20 / scanDir.seconds).toFixed(1)} MB/s`,
      `${scanDir.rssMB.toFixed(0)} MB`,
    ],
    [
      'shelflife scan sparse',
      `${SPARSE_GIB} GiB`,
      `${scanSparse.seconds.toFixed(2)} s`,
      '',
      `${sparseMBs.toFixed(0)} MB/s`,
      `${scanSparse.rssMB.toFixed(0)} MB`,
    ],
    [
      'first scan, recorded (--db)',
      `${FILES} files`,
      `${first.seconds.toFixed(2)} s`,
      `${(FILES / first.seconds).toFixed(0)} artifacts/s`,
      '',
      `${first.rssMB.toFixed(0)} MB`,
    ],
    [
      'rescan, unchanged tree',
      `${rescanStats.reused ?? 0} reused`,
      `${rescan.seconds.toFixed(2)} s`,
      `${(FILES / rescan.seconds).toFixed(0)} artifacts/s`,
      `${rescanStats.bytes} B read`,
      `${rescan.rssMB.toFixed(0)} MB`,
    ],
    [
      'first scan, 1 MiB images',
      `${FILES} files`,
      `${firstImg.seconds.toFixed(2)} s`,
      `${(FILES / firstImg.seconds).toFixed(0)} artifacts/s`,
      `${((FILES * 1) / firstImg.seconds).toFixed(0)} MB/s`,
      `${firstImg.rssMB.toFixed(0)} MB`,
    ],
    [
      'rescan, unchanged images',
      `${FILES} files`,
      `${rescanImg.seconds.toFixed(2)} s`,
      `${(FILES / rescanImg.seconds).toFixed(0)} artifacts/s`,
      '',
      `${rescanImg.rssMB.toFixed(0)} MB`,
    ],
    ['baseline openssl x509 -text', `${sample.length} files`, `${baseSeconds.toFixed(2)} s`, `${baseRate.toFixed(1)} files/s`, '', ''],
  ];
  console.log('\nbench/scan-dir (2-core target machine)');
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(i === 0 ? 30 : 18)).join(''));
  console.log(`\nfindings: dir ${out.scan.stats.findings} (errors ${out.scan.stats.errors}), sparse ${sparseOut.scan.stats.findings}`);
  console.log(`ratio vs baseline (files/s): ${ratio.toFixed(1)}x   target >= 50x   ${ratio >= 50 ? 'PASS' : 'FAIL'}`);
  console.log(`peak RSS, ${SPARSE_GIB} GiB file: ${scanSparse.rssMB.toFixed(0)} MB   target < 300 MB   ${scanSparse.rssMB < 300 ? 'PASS' : 'FAIL'}`);
  const incr = first.seconds / rescan.seconds;
  const incrImg = firstImg.seconds / rescanImg.seconds;
  console.log(`incremental rescan speed-up, 10k small cert/key files: ${incr.toFixed(1)}x (bookkeeping-bound: nothing to skip but reading a few KB)`);
  console.log(`incremental rescan speed-up, 10k 1 MiB images: ${incrImg.toFixed(1)}x   target >= 10x   ${incrImg >= 10 ? 'PASS' : 'FAIL'}`);
  console.log(`certificate found inside the sparse file: ${sparseOut.scan.stats.findings >= 1 ? 'yes' : 'NO'}`);
}

main();
