/**
 * Detection threads (src/scan/detect-pool.ts): the report is byte for byte the same with one thread or several, from
 * the built CLI (whose bundle must carry the worker entry) and from the library, and a pool's threads find exactly
 * what the registry finds inline.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runDetectors } from '../../src/detectors/index.js';
import { ShelflifeError } from '../../src/errors.js';
import type { ScanResult } from '../../src/model.js';
import { DetectPool } from '../../src/scan/detect-pool.js';
import { scan } from '../../src/scan/scan.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const FIXTURES = join(ROOT, 'fixtures');
const NOW = '2026-06-01T00:00:00Z';
const run = promisify(execFile);

/** The report with what differs between any two runs (scan id, start and finish times) replaced. */
function redacted(text: string): string {
  const r = JSON.parse(text) as ScanResult;
  return JSON.stringify({ ...r, scan: { ...r.scan, id: '<id>', startedAt: '<started>', finishedAt: '<finished>' } }, null, 1);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile())
    .sort();
}

describe('detection threads', () => {
  it('the CLI reports the fixtures scan identically with --threads 1, 2 and 4', async () => {
    const reports: string[] = [];
    for (const threads of ['1', '2', '4']) {
      const { stdout } = await run(process.execPath, [BIN, 'scan', FIXTURES, '--no-db', '--quiet', '--format', 'json', '--now', NOW, '--threads', threads], {
        maxBuffer: 256 * 1024 * 1024,
      });
      reports.push(redacted(stdout));
    }
    const first = JSON.parse(reports[0]) as ScanResult;
    expect(first.artifacts.length).toBeGreaterThan(400);
    expect(first.scan.stats.findings).toBeGreaterThan(400);
    expect(reports[1]).toBe(reports[0]);
    expect(reports[2]).toBe(reports[0]);
  }, 180_000);

  it('refuses a thread count that is not a whole number from 1 to 64', async () => {
    for (const bad of ['0', '65', '1.5', 'x']) {
      const r = await run(process.execPath, [BIN, 'scan', join(FIXTURES, 'pki'), '--no-db', '--quiet', '--threads', bad]).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect((r as { code: number }).code, bad).toBe(2);
      expect((r as { stderr: string }).stderr).toMatch(/--threads must be a whole number from 1 to 64/);
    }
  }, 60_000);

  it('the library reports the same with threads 1 and 2', async () => {
    const target = join(FIXTURES, 'pki');
    const one = await scan({ targets: [target], threads: 1, now: () => new Date(NOW) });
    const two = await scan({ targets: [target], threads: 2, now: () => new Date(NOW) });
    expect(one.artifacts.length).toBeGreaterThan(50);
    expect(redacted(JSON.stringify(two))).toBe(redacted(JSON.stringify(one)));
  }, 120_000);

  it('a pool finds what the registry finds inline, for every fixture file, and sends them to its threads', async () => {
    const pool = new DetectPool(2);
    try {
      const files = filesUnder(join(FIXTURES, 'pki')).concat(filesUnder(join(FIXTURES, 'openpgp')));
      expect(files.length).toBeGreaterThan(60);
      const jobs = files.map(async (path) => {
        const bytes = new Uint8Array(readFileSync(path));
        const ctx = { name: path.slice(FIXTURES.length + 1), uri: `file://${path}`, size: bytes.length, baseOffset: 0, whole: true };
        const inline = runDetectors(bytes, ctx);
        expect(pool.accepts(bytes.length)).toBe(true);
        const threaded = await pool.detect(bytes, ctx, {});
        // The caller's bytes are still its own (the thread got a copy).
        expect(bytes.length).toBe(ctx.size);
        expect(JSON.stringify(threaded), path).toBe(JSON.stringify(inline));
      });
      await Promise.all(jobs);
      expect(pool.sent).toBe(files.length);
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('a thread that stops fails what it held as detector-crash errors, and what waits is detected inline', async () => {
    const pool = new DetectPool(2, 0, new URL('../helpers/stopping-detect-worker.ts', import.meta.url));
    try {
      const files = filesUnder(join(FIXTURES, 'pki', 'certs')).slice(0, 40);
      const outcomes = await Promise.allSettled(
        files.map((path) => {
          const bytes = new Uint8Array(readFileSync(path));
          expect(pool.accepts(bytes.length)).toBe(true);
          return pool.detect(bytes, { name: path, uri: `file://${path}`, size: bytes.length, baseOffset: 0, whole: true }, {});
        }),
      );
      const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(failed.length).toBeGreaterThan(0);
      for (const f of failed) {
        expect(f.reason).toBeInstanceOf(ShelflifeError);
        expect((f.reason as ShelflifeError).code).toBe('detector-crash');
        expect((f.reason as ShelflifeError).message).toMatch(/the detection thread stopped/);
      }
      // The rest were never sent: detected inline once no thread was left, with the registry's answers.
      const done = outcomes.filter((o) => o.status === 'fulfilled');
      expect(done.length).toBeGreaterThan(0);
      expect(failed.length + done.length).toBe(files.length);
      expect(pool.accepts(10)).toBe(false);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('starts no thread before `startAfter` artifacts, and takes no artifact above its size limit', async () => {
    const pool = new DetectPool(2, 3);
    try {
      expect([pool.accepts(10), pool.accepts(10), pool.accepts(10)]).toEqual([false, false, false]);
      expect(pool.accepts(10)).toBe(true);
      expect(pool.accepts(2 * 1024 * 1024)).toBe(false);
      expect(new DetectPool(1).accepts(10)).toBe(false);
    } finally {
      await pool.close();
    }
  });
});
