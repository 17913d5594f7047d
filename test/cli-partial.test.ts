/**
 * Issue 16 item 6: failures that must not look like success. A scan that cannot read part of its targets (a directory
 * an unprivileged user may not read, a missing target, a registry that does not answer) exits 5, says so, is recorded
 * as partial, and `diff` counts nothing under what it could not read as resolved or gone. Operational failures exit 6,
 * never 1 (which `--fail-on` owns). The real binary, run as the unprivileged user `nobody` (a child process with its
 * uid and gid) where a permission is what fails.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanDiff } from '../src/inventory/inventory.js';
import type { ScanResult } from '../src/model.js';
import { requirePrerequisite } from './helpers/prerequisites.js';
import { FIXTURES } from './helpers/scan.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'shelflife.js');
const NOBODY = 65534;
let work = '';

function run(args: string[], opts: { uid?: number; db?: string } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: work,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, SHELFLIFE_DB: opts.db ?? join(work, 'db', 'inventory.db'), XDG_DATA_HOME: join(work, 'db') },
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'shelflife-partial-'));
  chmodSync(work, 0o755);
  const tree = join(work, 'srv');
  for (const d of ['srv', 'srv/public', 'srv/keys', 'db']) mkdirSync(join(work, d), { recursive: true });
  copyFileSync(join(FIXTURES, 'packages', 'realworld', 'npm-keys.json'), join(tree, 'public', 'keys.json'));
  copyFileSync(join(FIXTURES, 'pki', 'realworld', 'mozilla-GlobalSign_Root_CA.crt'), join(tree, 'keys', 'root.crt'));
  copyFileSync(join(FIXTURES, 'pki', 'realworld', 'mozilla-GlobalSign_Root_CA.crt'), join(tree, 'public', 'root.crt'));
  for (const d of ['srv', 'srv/public', 'srv/keys']) chmodSync(join(work, d), 0o755);
  if (process.getuid?.() === 0) chownSync(join(work, 'db'), NOBODY, NOBODY);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const asRoot = () => (process.getuid?.() === 0 ? false : 'cli-partial: the test needs root to run a child as the unprivileged user nobody');

describe('partial scans exit 5 and diff does not call them resolved (issue 16 item 6)', () => {
  it("an unprivileged user's unreadable directory: exit 5, recorded as partial, and diff keeps its findings out of 'resolved'", (ctx) => {
    requirePrerequisite(ctx, asRoot());
    const srv = join(work, 'srv');
    const keys = join(srv, 'keys');
    // The first scan, as nobody, reads everything.
    const first = run(['scan', srv, '-f', 'json', '--no-progress'], { uid: NOBODY });
    expect(first.code, first.stderr).toBe(0);
    const before = JSON.parse(first.stdout) as ScanResult;
    expect(before.scan.partial).toBeUndefined();
    expect(before.artifacts.filter((a) => a.uri.startsWith(pathToFileURL(keys).href)).flatMap((a) => a.findings)).toHaveLength(1);
    // The directory becomes root's alone (mode 700): the unprivileged scan cannot list it.
    chmodSync(keys, 0o700);
    try {
      const second = run(['scan', srv, '-f', 'json', '--no-progress'], { uid: NOBODY });
      expect(second.code, second.stderr).toBe(5);
      expect(second.stderr).toMatch(/partial scan: could not read .*srv\/keys \(EACCES/);
      const after = JSON.parse(second.stdout) as ScanResult;
      expect(after.scan.partial).toBe(true);
      expect(after.scan.unread).toEqual([{ uri: pathToFileURL(keys).href, code: 'io', message: expect.stringContaining('EACCES') }]);
      // The rest of the tree is still scanned.
      expect(after.artifacts.find((a) => a.uri.endsWith('/public/keys.json'))?.findings).toHaveLength(2);

      const diff = run(['diff', '-f', 'json'], { uid: NOBODY });
      expect(diff.code, diff.stderr).toBe(5);
      const d = JSON.parse(diff.stdout) as ScanDiff;
      expect(d.resolvedFindings).toEqual([]);
      expect(d.disappearedArtifacts).toEqual([]);
      expect(d.unread?.map((u) => u.uri)).toEqual([pathToFileURL(keys).href]);
      expect(d.notCompared).toEqual({ findings: 1, artifacts: 1 });
      const text = run(['diff'], { uid: NOBODY });
      expect(text.code).toBe(5);
      expect(text.stdout).toMatch(/^PARTIAL: the later scan could not read 1 location; 1 finding and 1 artifact under it are not compared/m);
      expect(text.stdout).toMatch(/0 new, 0 resolved, 0 changed findings/);
    } finally {
      chmodSync(keys, 0o755);
    }
  });

  it('an unreadable file is unread too, and only it', (ctx) => {
    requirePrerequisite(ctx, asRoot());
    const file = join(work, 'srv', 'public', 'root.crt');
    chmodSync(file, 0o600);
    try {
      const r = run(['scan', join(work, 'srv'), '-f', 'json', '--no-progress', '--no-db'], { uid: NOBODY });
      expect(r.code, r.stderr).toBe(5);
      expect((JSON.parse(r.stdout) as ScanResult).scan.unread?.map((u) => u.uri)).toEqual([pathToFileURL(file).href]);
    } finally {
      chmodSync(file, 0o644);
    }
  });

  it('a missing target (a typo, an unmounted share) exits 5, and diff does not resolve what it held', () => {
    const db = join(work, 'missing.db');
    const share = join(work, 'share');
    mkdirSync(share);
    copyFileSync(join(FIXTURES, 'pki', 'realworld', 'mozilla-GlobalSign_Root_CA.crt'), join(share, 'root.crt'));
    expect(run(['scan', share, '-f', 'json'], { db }).code).toBe(0);
    rmSync(share, { recursive: true });
    const r = run(['scan', share, '-f', 'json'], { db });
    expect(r.code, r.stderr).toBe(5);
    expect((JSON.parse(r.stdout) as ScanResult).scan.unread).toEqual([
      { uri: pathToFileURL(share).href, code: 'io', message: expect.stringContaining('ENOENT') },
    ]);
    const d = JSON.parse(run(['diff', '-f', 'json'], { db }).stdout) as ScanDiff;
    expect(d.resolvedFindings).toEqual([]);
    expect(d.disappearedArtifacts).toEqual([]);
    expect(d.notCompared).toEqual({ findings: 1, artifacts: 1 });
    // With --fail-on, a partial scan still exits 5, not 1: the findings it has are not all there are.
    expect(run(['scan', share, '--fail-on', 'none', '--no-db']).code).toBe(5);
  });

  it('a registry that does not answer exits 5', async () => {
    // A port that was just free: nothing listens on it.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const r = run(['scan', `oci://127.0.0.1:${port}/app`, '-f', 'json', '--no-db', '--timeout', '5']);
    expect(r.code, r.stderr).toBe(5);
    const out = JSON.parse(r.stdout) as ScanResult;
    expect(out.scan.unread).toEqual([{ uri: `oci://127.0.0.1:${port}/app`, code: 'remote', message: expect.stringContaining('ECONNREFUSED') }]);
  });
});

describe('operational failures do not share exit 1 with --fail-on', () => {
  it('an inventory named with --db that cannot be opened: the report is written, exit 6; --fail-on alone still exits 1', () => {
    const notADir = join(work, 'srv', 'public', 'keys.json');
    const r = run(['scan', join(work, 'srv', 'public'), '-f', 'json', '--db', join(notADir, 'inventory.db'), '--fail-on', 'none']);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/error: inventory unavailable, this scan is not recorded/);
    expect((JSON.parse(r.stdout) as ScanResult).scan.stats.findings).toBeGreaterThan(0);
    expect(run(['scan', join(work, 'srv', 'public'), '-f', 'json', '--no-db', '--fail-on', 'none']).code).toBe(1);
  });

  it('a report that cannot be written exits 6, not 1 and not 3 (an internal error)', () => {
    const notADir = join(work, 'srv', 'public', 'keys.json');
    const r = run(['scan', join(work, 'srv', 'public'), '--no-db', '--fail-on', 'none', '-o', join(notADir, 'report.json')]);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/error: .*report\.json: cannot write the report: E(NOTDIR|EXIST)/);
  });
});
