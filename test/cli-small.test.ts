/**
 * Issue 16 item 14, the smaller ones: `-q` keeps the report, a rescan says what it reused instead of "0 B",
 * `--format cyclonedx` is the CBOM, and S3 commands print no SDK warning about the Node version. The real binary.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ScanResult } from '../src/model.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const work = mkdtempSync(join(tmpdir(), 'shelflife-small-'));
const TARGET = 'fixtures/packages/realworld';

function run(args: string[], db = join(work, 'inventory.db')) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, SHELFLIFE_DB: db } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('issue 16 item 14', () => {
  it('-q without -o still prints the report (only progress and the summary line are silenced)', () => {
    const r = run(['scan', TARGET, '-q', '-f', 'json', '--no-db']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as ScanResult).scan.stats.findings).toBeGreaterThan(0);
    expect(r.stderr).toBe('');
    const quietFile = run(['scan', TARGET, '-q', '--no-db', '-o', join(work, 'q.json')]);
    expect(quietFile.stdout + quietFile.stderr).toBe('');
  });

  it('a rescan that reused every result says "0 B read, N reused", not "0 B"', () => {
    const db = join(work, 'rescan.db');
    const first = run(['scan', TARGET, '-o', join(work, 'a.json')], db);
    expect(first.stderr).toMatch(/artifacts, [\d.]+ [KM]?i?B, \d+ findings/);
    const second = run(['scan', TARGET, '-o', join(work, 'b.json')], db);
    const reused = (JSON.parse(readFileSync(join(work, 'b.json'), 'utf8')) as ScanResult).scan.stats.reused;
    expect(reused).toBeGreaterThan(0);
    expect(second.stderr).toContain(`artifacts, 0 B read, ${reused} reused, `);
    const table = run(['scan', TARGET, '-f', 'table'], db);
    expect(table.stdout).toContain(`0 B read, ${reused} reused`);
  });

  it('--format cyclonedx is the CycloneDX CBOM (the name other scanners use)', () => {
    const r = run(['scan', TARGET, '--format', 'cyclonedx', '--no-db']);
    expect(r.code, r.stderr).toBe(0);
    const bom = JSON.parse(r.stdout) as { bomFormat: string; specVersion: string; components: { cryptoProperties?: unknown }[] };
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.components.some((c) => c.cryptoProperties)).toBe(true);
    expect(run(['scan', TARGET, '--format', 'nope', '--no-db']).stderr).toMatch(/cyclonedx/);
  });

  it('S3 clients print no NodeVersionSupportWarning (the SDK warns on Node < 22; shelflife supports Node 20)', () => {
    const s3 = join(ROOT, 'dist', 'src', 'net', 's3.js');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'));
    const ours = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(s3)}); m.defaultS3Client({ endpoint: 'http://127.0.0.1:9' });`],
      {
        encoding: 'utf8',
        env,
      },
    );
    expect(ours.status, ours.stderr).toBe(0);
    expect(ours.stderr).not.toContain('NodeVersionSupportWarning');
    // The control: the SDK's own client, made directly, does warn on this Node (so the check above can fail).
    if (Number(process.versions.node.split('.')[0]) < 22) {
      const bare = spawnSync(
        process.execPath,
        ['--input-type=module', '-e', `const { S3Client } = await import('@aws-sdk/client-s3'); new S3Client({ region: 'x' });`],
        {
          encoding: 'utf8',
          env,
          cwd: ROOT,
        },
      );
      expect(bare.stderr).toContain('NodeVersionSupportWarning');
    }
  });

  it('where accepts the paths explain accepts: relative, absolute, a member with !/', () => {
    const db = join(work, 'where.db');
    expect(run(['scan', 'fixtures/core', '-o', join(work, 'w.json')], db).code).toBe(0);
    const report = JSON.parse(readFileSync(join(work, 'w.json'), 'utf8')) as ScanResult;
    const member = report.artifacts.find((a) => a.uri.endsWith('/fixtures/core/bundle.tar.gz!/etc/pki/leaf.crt'))!;
    for (const ref of ['fixtures/core/bundle.tar.gz!/etc/pki/leaf.crt', join(ROOT, 'fixtures/core/bundle.tar.gz!/etc/pki/leaf.crt'), member.uri]) {
      const r = run(['where', ref, '-f', 'json'], db);
      expect(r.code, `${ref}: ${r.stderr}`).toBe(0);
      expect((JSON.parse(r.stdout) as { sha256: string }).sha256).toBe(member.sha256);
    }
    expect(run(['where', 'fixtures/core/nothing-here.bin'], db).code).toBe(2);
  });
});
