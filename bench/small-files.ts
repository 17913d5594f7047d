/**
 * bench/small-files: a whole `shelflife scan` process over 3,000 small PEM/OpenPGP/SSH files, against an
 * `openssl x509 -noout -text` process per certificate file, both in the same run. Target (issue 17): ≥ 100× the
 * loop's files per second.
 *
 *   npm run build && npx tsx bench/small-files.ts [--files 3000] [--baseline-sample 200] [--runs 3]
 *
 * The tree is made (once, cached under .bench-data/) from the certificate, key, OpenPGP and SSH fixtures under
 * fixtures/ (made by openssl, gpg and ssh-keygen: fixtures/gen/), repeated under distinct names, 500 to a directory.
 * The loop runs openssl once per file over a sample of the tree's certificates (its per-file cost is constant). The
 * scan writes its JSON report to a file without an inventory (`--no-db`), once on the main thread alone (`--threads 1`)
 * and once with its detection threads (the default: one per core, at most 4). Printed: median and spread over the
 * runs, the ratio of files per second for each, and the load average (the machine is shared).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { smallFixtureFiles } from './_seeds.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const FILES = arg('files', 3000);
const SAMPLE = arg('baseline-sample', 200);
const RUNS = arg('runs', 3);
const DATA = join(ROOT, '.bench-data', 'small-files');
const TREE = join(DATA, `tree-${FILES}`);

function buildTree(): void {
  if (existsSync(join(TREE, '.complete'))) return;
  rmSync(TREE, { recursive: true, force: true });
  const s = smallFixtureFiles(ROOT);
  console.log(`building ${FILES} files from ${s.length} fixtures under ${TREE} …`);
  for (let i = 0; i < FILES; i++) {
    const sub = join(TREE, `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(sub, { recursive: true });
    copyFileSync(s[i % s.length], join(sub, `${i}-${basename(s[i % s.length])}`));
  }
  writeFileSync(join(TREE, '.complete'), '');
}

function certificates(): string[] {
  const out: string[] = [];
  for (const d of readdirSync(TREE).sort()) {
    if (d.startsWith('.')) continue;
    for (const f of readdirSync(join(TREE, d)).sort()) {
      const p = join(TREE, d, f);
      if (/\.(pem|crt)$/.test(f) && spawnSync('openssl', ['x509', '-noout', '-in', p]).status === 0) out.push(p);
      if (out.length >= SAMPLE) return out;
    }
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;

function main(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  buildTree();
  const sample = certificates();
  if (sample.length < 10) throw new Error('too few certificates in the tree for the openssl baseline');
  const load0 = loadavg()[0];
  const modes = [
    { label: 'shelflife scan --threads 1', args: ['--threads', '1'], rates: [] as number[], seconds: [] as number[] },
    { label: 'shelflife scan (threads)  ', args: [] as string[], rates: [] as number[], seconds: [] as number[] },
  ];
  const baseRates: number[] = [];
  const out = join(DATA, `out-${process.pid}.json`);
  for (let r = 0; r < RUNS; r++) {
    let t0 = process.hrtime.bigint();
    for (const f of sample) execFileSync('openssl', ['x509', '-noout', '-text', '-in', f], { stdio: 'ignore' });
    baseRates.push(sample.length / (Number(process.hrtime.bigint() - t0) / 1e9));
    for (const m of modes) {
      t0 = process.hrtime.bigint();
      const res = spawnSync(process.execPath, [BIN, 'scan', TREE, '--quiet', '--no-db', '--format', 'json', '-o', out, ...m.args], { stdio: 'ignore' });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (res.status !== 0) throw new Error(`shelflife scan failed (${res.status})`);
      m.seconds.push(seconds);
      m.rates.push(FILES / seconds);
    }
  }
  rmSync(out, { force: true });
  const load1 = loadavg()[0];
  console.log(
    `\nbench/small-files: ${FILES} files, ${RUNS} runs, load average ${load0.toFixed(2)} → ${load1.toFixed(2)} (${availableParallelism()}-core machine)`,
  );
  console.log(`openssl x509 -noout -text loop    ${sample.length} files per run   ${median(baseRates).toFixed(1)} files/s (${spread(baseRates)})`);
  for (const m of modes) {
    const ratios = m.rates.map((s, i) => s / baseRates[i]);
    const ratio = median(ratios);
    console.log(
      `${m.label}   ${median(m.seconds).toFixed(2)} s (${spread(m.seconds)})   ${median(m.rates).toFixed(0)} files/s   ratio ${ratio.toFixed(1)}x (${spread(ratios)})   target >= 100x   ${ratio >= 100 ? 'PASS' : 'FAIL'}`,
    );
  }
}

main();
