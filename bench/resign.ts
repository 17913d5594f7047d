/**
 * Benchmark (on demand, not a test): `npx tsx bench/resign.ts`
 * Hybrid (MLDSA65-ECDSA-P256-SHA512) sign and verify throughput over worker threads on every core, for 1,000
 * artifacts of 1 KiB and for 100 MiB artifacts, beside @noble/post-quantum's single-thread ML-DSA-65 sign/verify
 * measured in the same run, and large-artifact hashing against `openssl dgst -sha512` on the same file.
 * Targets (issue 6): hybrid sign on 2 cores ≥ 1.6× single-thread ML-DSA-65 sign; large artifacts hashed once,
 * streamed, at ≥ 80% of `openssl dgst -sha512`.
 * Env: SHELFLIFE_BENCH_SMALL (default 1000), SHELFLIFE_BENCH_LARGE (number of 100 MiB artifacts, default 4).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { readSigningCertificate, selfSignedCertificate } from '../src/resign/cert.js';
import { assembleSignedData, signedAttributes } from '../src/resign/cms.js';
import { generateKey, privateKeyFromBytes, requireAlgorithm } from '../src/resign/composite.js';
import { SignerPool } from '../src/resign/pool.js';
import { digestStream, verifyArtifact } from '../src/resign/resign.js';
import { fileChunks } from '../src/resign/writers/fs.js';

const SMALL = Number(process.env.SHELFLIFE_BENCH_SMALL ?? 1000);
const LARGE = Number(process.env.SHELFLIFE_BENCH_LARGE ?? 4);
const LARGE_SIZE = 100 * 1024 * 1024;
const CORES = availableParallelism();

// The product's reader (the fs writer's openArtifact), so the bench measures the path resign takes.
const open = (path: string) => () => fileChunks(path);

if (!isMainThread) {
  // Verify worker: reports ready once loaded, then verifies each batch of (artifact, .p7s) pairs it is sent.
  const cert = readSigningCertificate((workerData as { certDer: Uint8Array }).certDer, 'cert');
  parentPort!.on('message', async (pairs: [string, string][]) => {
    let ok = 0;
    for (const [file, sig] of pairs) if ((await verifyArtifact(open(file), readFileSync(sig), cert, sig)).valid) ok++;
    parentPort!.postMessage(ok);
  });
  parentPort!.postMessage('ready');
} else {
  await main();
}

/** Bare @noble/post-quantum ML-DSA-65 signing in `workers` threads at once; total signatures per second. */
async function bareParallelSign(workers: number, n: number): Promise<number> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    import('@noble/post-quantum/ml-dsa.js').then(({ ml_dsa65 }) => {
      const { secretKey } = ml_dsa65.keygen(new Uint8Array(32).fill(2));
      const msg = new Uint8Array(1024);
      for (let i = 0; i < 30; i++) ml_dsa65.sign(msg, secretKey);
      const t = performance.now();
      for (let i = 0; i < ${n}; i++) { msg[0] = i; ml_dsa65.sign(msg, secretKey); }
      parentPort.postMessage(performance.now() - t);
    });`;
  const times = await Promise.all(
    Array.from(
      { length: workers },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(code, { eval: true });
          w.once('message', (ms: number) => {
            resolve(ms);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  return (workers * n * 1000) / Math.max(...times);
}

function rate(n: number, ms: number): string {
  return `${((n * 1000) / ms).toFixed(1)} ops/s`;
}

async function signAll(files: string[], pool: SignerPool, key: ReturnType<typeof generateKey>, cert: ReturnType<typeof readSigningCertificate>): Promise<void> {
  // The resign path: hash once (streamed, on the main thread), sign signedAttrs on the pool, assemble the .p7s.
  let next = 0;
  const lane = async () => {
    while (next < files.length) {
      const f = files[next++];
      const d = await digestStream(open(f)(), ['SHA-512']);
      const attrs = signedAttributes(key.alg, d.get('SHA-512')!);
      // Synchronous, as the real writer (writeDurably) is: on tmpfs a small write costs microseconds.
      writeFileSync(`${f}.p7s`, assembleSignedData(key.alg, cert, attrs, await pool.sign(attrs)));
    }
  };
  await Promise.all(Array.from({ length: 4 * pool.size }, lane)); // enough lanes that hashing and I/O never starve the workers
}

/** One verify worker per core, started (and loaded) before any timing starts. */
async function startVerifiers(certDer: Uint8Array): Promise<Worker[]> {
  const url = new URL(import.meta.url);
  return Promise.all(
    Array.from(
      { length: CORES },
      () =>
        new Promise<Worker>((resolve, reject) => {
          const w = new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`, {
            eval: true,
            workerData: { certDer },
          });
          w.once('message', () => resolve(w));
          w.once('error', reject);
        }),
    ),
  );
}

async function verifyAll(files: string[], workers: Worker[]): Promise<number> {
  const shares: [string, string][][] = workers.map(() => []);
  files.forEach((f, i) => shares[i % workers.length].push([f, `${f}.p7s`]));
  const results = await Promise.all(
    workers.map(
      (w, i) =>
        new Promise<number>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
          w.postMessage(shares[i]);
        }),
    ),
  );
  return results.reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  // Artifacts live in memory-backed storage when the machine has it: the targets compare signing against in-memory
  // ML-DSA, and on this VM's disk creating one small file costs ~0.8 ms of kernel time (60× tmpfs), which would
  // measure the file system rather than the signer. BENCH_DIR overrides (e.g. to include a real disk on purpose).
  const base = process.env.BENCH_DIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const dir = mkdtempSync(join(base, 'shelflife-bench-'));
  try {
    console.log(`shelflife resign benchmark: ${CORES} cores, Node ${process.version}, ${SMALL} × 1 KiB + ${LARGE} × 100 MiB artifacts in ${dir}\n`);
    const alg = requireAlgorithm('mldsa65-ecdsa-p256');
    const key = generateKey(alg);
    const certDer = selfSignedCertificate(key, { subject: 'bench', days: 1 });
    const cert = readSigningCertificate(certDer, 'bench');

    // 1. Baseline: @noble/post-quantum ML-DSA-65 alone, one thread, 1 KiB message; measured again after the
    // hybrid run and averaged, so a machine whose load changes during the run does not skew the ratio one way.
    const msg = new Uint8Array(1024).fill(1);
    const { secretKey, publicKey } = ml_dsa65.keygen(new Uint8Array(32).fill(2));
    for (let i = 0; i < 30; i++) ml_dsa65.sign(msg, secretKey); // warm-up (JIT tiers), as the workers get below
    const baseline = () => {
      // ML-DSA signing time varies per signature (rejection sampling): average enough of them.
      const n = 300;
      let t0 = performance.now();
      const c0 = process.cpuUsage();
      const sigs = Array.from({ length: n }, () => ml_dsa65.sign(msg, secretKey));
      const signMs = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      baselineCpuMsPerSign.push((cpu.user + cpu.system) / 1000 / n);
      t0 = performance.now();
      for (const s of sigs) ml_dsa65.verify(s, msg, publicKey);
      return { sign: (n * 1000) / signMs, verify: (n * 1000) / (performance.now() - t0) };
    };
    const baselineCpuMsPerSign: number[] = [];
    const before = baseline();
    console.log(`@noble/post-quantum ML-DSA-65, 1 thread (before): sign ${before.sign.toFixed(1)} ops/s   verify ${before.verify.toFixed(1)} ops/s`);
    // The platform's own ceiling: bare ML-DSA-65 signing in one worker per core, nothing else (each worker times its
    // loop after warming up). A hybrid pipeline does strictly more work per artifact, so it cannot beat this ratio.
    const ceiling = await bareParallelSign(CORES, 300);
    console.log(
      `  platform ceiling: bare ML-DSA-65 sign in ${CORES} workers = ${(ceiling / before.sign).toFixed(2)}× one thread (${ceiling.toFixed(1)} ops/s)`,
    );
    let t: number;

    // 2. 1,000 × 1 KiB artifacts: hybrid sign (pool over every core) and verify (one worker per core).
    const small = Array.from({ length: SMALL }, (_, i) => {
      const f = join(dir, `s${i}.bin`);
      writeFileSync(f, new Uint8Array(1024).fill(i & 0xff));
      return f;
    });
    const pool = new SignerPool(privateKeyFromBytes(alg, key.bytes), CORES);
    const verifiers = await startVerifiers(certDer);
    try {
      await signAll(small.slice(0, 30 * CORES), pool, key, cert); // warm the workers as the baseline was warmed (JIT, tsx)
      t = performance.now();
      const c0 = process.cpuUsage(); // all threads of this process: main + signing workers
      await signAll(small, pool, key, cert);
      const signMs = performance.now() - t;
      const signCpu = process.cpuUsage(c0);
      t = performance.now();
      const ok = await verifyAll(small, verifiers);
      const verifyMs = performance.now() - t;
      if (ok !== small.length) throw new Error(`only ${ok} of ${small.length} verified`);
      const hybridSign = (SMALL * 1000) / signMs;
      console.log(
        `hybrid MLDSA65-ECDSA-P256, ${CORES} threads, 1 KiB: sign ${rate(SMALL, signMs)}   verify ${rate(SMALL, verifyMs)} (hash + CMS + file I/O included)`,
      );
      const after = baseline();
      const baseSign = (before.sign + after.sign) / 2;
      console.log(`@noble/post-quantum ML-DSA-65, 1 thread (after):  sign ${after.sign.toFixed(1)} ops/s   verify ${after.verify.toFixed(1)} ops/s`);
      console.log(`  → hybrid sign / single-thread ML-DSA-65 sign (mean of before/after) = ${(hybridSign / baseSign).toFixed(2)}× (target ≥ 1.6×)`);
      const cpuPerWall = (signCpu.user + signCpu.system) / 1000 / signMs;
      const hybridCpuMsPerOp = (signCpu.user + signCpu.system) / 1000 / SMALL;
      const baseCpuMs = baselineCpuMsPerSign.reduce((a, b) => a + b, 0) / baselineCpuMsPerSign.length;
      console.log(
        `  CPU time: hybrid ${hybridCpuMsPerOp.toFixed(1)} ms/artifact (all threads), ML-DSA-65 sign alone ${baseCpuMs.toFixed(1)} ms; this run got ${cpuPerWall.toFixed(2)} of ${CORES} cores`,
      );
      console.log(`  → with ${CORES} free cores (CPU-time estimate): ${((CORES * baseCpuMs) / hybridCpuMsPerOp).toFixed(2)}×`);
      const load = loadavg()[0];
      if (load > CORES)
        console.log(`  ! load average ${load.toFixed(1)} on ${CORES} cores: other processes share the CPU, so the wall-clock ratios above are not meaningful`);
      console.log('');

      // 3. 100 MiB artifacts: one streamed SHA-512 pass (the composite's pre-hash) + sign, vs openssl dgst -sha512.
      if (LARGE > 0) {
        const big = Array.from({ length: LARGE }, (_, i) => {
          const f = join(dir, `l${i}.bin`);
          const block = new Uint8Array(LARGE_SIZE);
          for (let j = 0; j < block.length; j += 4096) block[j] = (i + j) & 0xff;
          writeFileSync(f, block);
          return f;
        });
        for (const f of big) spawnSync('cat', [f], { stdio: ['ignore', 'ignore', 'ignore'] }); // same page-cache state for both
        t = performance.now();
        for (const f of big) {
          const r = spawnSync('openssl', ['dgst', '-sha512', f], { stdio: ['ignore', 'ignore', 'inherit'] });
          if (r.status !== 0) throw new Error('openssl dgst failed');
        }
        const opensslMs = performance.now() - t;
        t = performance.now();
        for (const f of big) await digestStream(open(f)(), ['SHA-512']);
        const hashMs = performance.now() - t;
        t = performance.now();
        await signAll(big, pool, key, cert);
        const signMs2 = performance.now() - t;
        t = performance.now();
        const ok2 = await verifyAll(big, verifiers);
        const verifyMs2 = performance.now() - t;
        if (ok2 !== big.length) throw new Error(`only ${ok2} of ${big.length} large artifacts verified`);
        t = performance.now();
        for (const f of big) await digestStream(open(f)(), ['SHA-256', 'SHA-512']);
        const twoHashMs = performance.now() - t;
        const mb = (LARGE * LARGE_SIZE) / 1e6;
        const mbs = (ms: number) => `${((mb * 1000) / ms).toFixed(0)} MB/s`;
        console.log(
          `100 MiB artifacts (${LARGE}): openssl dgst -sha512 ${mbs(opensslMs)} | shelflife streamed SHA-512 ${mbs(hashMs)} (${((opensslMs / hashMs) * 100).toFixed(0)}% of openssl; target ≥ 80%)`,
        );
        console.log(`  hybrid sign ${rate(LARGE, signMs2)} (${mbs(signMs2)}), verify ${rate(LARGE, verifyMs2)} (${mbs(verifyMs2)}, ${CORES} workers)`);
        console.log(`  resign's pinning pass (SHA-256 of the scan + SHA-512 pre-hash, one read): ${mbs(twoHashMs)}`);
      }
    } finally {
      await pool.close();
      await Promise.all(verifiers.map((w) => w.terminate()));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
