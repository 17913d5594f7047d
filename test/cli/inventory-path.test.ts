/**
 * An inventory path that cannot be made fails fast and names itself. `--db /proc/nope/x.db` used to hang: Node's
 * recursive mkdir loops forever on a pseudo file system that answers ENOENT under an existing parent
 * (src/directory.ts). A scan still writes its report and exits 6 (README, exit codes); an inventory command exits 6.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ScanResult } from '../../src/model.js';
import { makeDirectory } from '../../src/directory.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const work = mkdtempSync(join(tmpdir(), 'shelflife-dbpath-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

describe('an inventory path that cannot be made', () => {
  it('scan --db /proc/nope/x.db: no hang; the report is written, the error names the path, exit 6', () => {
    const r = run(['scan', 'fixtures/packages/realworld', '-f', 'json', '--db', '/proc/nope/x.db']);
    expect(r.signal, 'the scan hung (killed by the timeout)').toBeNull();
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/error: inventory unavailable, this scan is not recorded: \/proc\/nope\/x\.db: .*ENOENT/);
    expect((JSON.parse(r.stdout) as ScanResult).scan.stats.artifacts).toBeGreaterThan(0);
  });

  it('history --db /proc/nope/x.db fails fast with exit 6, naming the path', () => {
    const r = run(['history', '--db', '/proc/nope/x.db']);
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toContain('/proc/nope/x.db');
  });

  it('makeDirectory makes missing parents, accepts an existing directory, and throws with the path on a refusal', () => {
    const deep = join(work, 'a', 'b', 'c');
    makeDirectory(deep);
    expect(existsSync(deep)).toBe(true);
    makeDirectory(deep);
    const file = join(work, 'file');
    writeFileSync(file, 'x');
    expect(() => makeDirectory(join(file, 'below'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(() => makeDirectory('/proc/nope/deeper')).toThrow(expect.objectContaining({ code: 'ENOENT', path: '/proc/nope' }));
  });
});
