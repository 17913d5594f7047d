/** End to end: the real binary (bin/shelflife.js → dist/, built by the global setup), its output and exit codes. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScanResult } from '../src/model.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');

// Each run records into a throwaway inventory, never the user's.
const DB = join(mkdtempSync(join(tmpdir(), 'shelflife-cli-db-')), 'inventory.db');

function run(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, SHELFLIFE_DB: DB } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('shelflife CLI', () => {
  it('scans the bundled fixtures to JSON on stdout when not a terminal', () => {
    const r = run(['scan', 'fixtures/core']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as ScanResult;
    expect(out.schemaVersion).toBe('1');
    expect(out.scan.stats.artifacts).toBeGreaterThan(10);
    const bundle = out.artifacts.find((a) => a.uri.endsWith('/fixtures/core/bundle.tar.gz!/etc/pki/leaf.crt'));
    expect(bundle?.parent).toMatch(/bundle\.tar\.gz$/);
    expect(bundle?.findings[0].algorithm.id).toBe('RSA-3072');
  });

  it('prints a table with --format table, and errors for hostile inputs without failing the run', () => {
    const r = run(['scan', 'fixtures/core', '--format', 'table']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/KIND\s+ALGORITHM\s+QUANTUM\s+FORMAT\s+ARTIFACT/);
    expect(r.stdout).toMatch(/certificate\s+RSA-3072 \/ SHA-256\s+vulnerable\s+x509/);
    expect(r.stdout).toMatch(/error \[limit-ratio\]: file:\/\/.*zip-bomb\.zip/);
  });

  it('writes -o files, honours --include/--exclude and --quiet', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-cli-'));
    const out = join(dir, 'nested', 'scan.json');
    const r = run(['scan', 'fixtures/core', '--include', '**/*.tar.*', '--exclude', '**/*.zst', '-o', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(true);
    const res = JSON.parse(readFileSync(out, 'utf8')) as ScanResult;
    const tops = res.artifacts.filter((a) => a.parent === null).map((a) => a.uri.split('/').pop());
    expect(tops.sort()).toEqual(['bundle.tar.gz', 'bundle.tar.xz', 'truncated.tar.gz']);
  });

  it('selects detectors with --detectors and rejects unknown ones with exit 2', () => {
    const only = run(['scan', 'fixtures/core/bundle.zip', '--detectors', '+keys']);
    expect(only.code).toBe(0);
    const res = JSON.parse(only.stdout) as ScanResult;
    expect(res.artifacts.flatMap((a) => a.findings).map((f) => f.format)).toEqual(['pkcs8']);
    const bad = run(['scan', 'fixtures/core', '--detectors', '+nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('shelflife: error: --detectors: unknown detector "nope"');
  });

  it('exits 2 on usage errors and reports unreadable targets as artifact errors', () => {
    expect(run(['scan']).code).toBe(2);
    expect(run(['frobnicate']).code).toBe(2);
    // A missing target (a typo, an unmounted share) is a partial scan: exit 5, the report written and saying so.
    const missing = run(['scan', 'does/not/exist']);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(/partial scan: could not read .*does\/not\/exist \(ENOENT/);
    const res = JSON.parse(missing.stdout) as ScanResult;
    expect(res.artifacts[0].errors[0]).toMatchObject({ code: 'io' });
    expect(res.artifacts[0].errors[0].message).toContain('ENOENT');
    expect(res.scan.partial).toBe(true);
    expect(res.scan.unread).toEqual([{ uri: res.artifacts[0].uri, code: 'io', message: res.artifacts[0].errors[0].message }]);
  });

  it('prints its version', () => {
    const r = run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
