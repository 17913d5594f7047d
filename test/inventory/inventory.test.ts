/**
 * The inventory on a real SQLite file: recording, copies across locations, incremental rescans, diffs, retirement,
 * schema migrations from an older database, concurrent readers under WAL, and a writer killed mid-transaction.
 */
import { spawnSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { Kysely, SqliteDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import type { ScanResult } from '../../src/model.js';
import { migrate, SCHEMA_VERSION, type InventoryTables } from '../../src/inventory/schema.js';
import { scan } from '../../src/scan/scan.js';
import { FIXTURES } from '../helpers/scan.js';

const CORE = join(FIXTURES, 'core');
const require = createRequire(import.meta.url);

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-inv-'));
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'a'), { recursive: true });
  mkdirSync(join(tree, 'b'), { recursive: true });
  copyFileSync(join(CORE, 'bundle.tar.gz'), join(tree, 'a', 'bundle.tar.gz'));
  copyFileSync(join(CORE, 'bundle.tar.gz'), join(tree, 'b', 'copy-of-bundle.tar.gz'));
  copyFileSync(join(CORE, 'leaf.crt.gz'), join(tree, 'a', 'leaf.crt.gz'));
  return { dir, tree, db: join(dir, 'inventory.db') };
}

async function scanWith(db: string, targets: string[], extra: { full?: boolean; now?: string } = {}) {
  const inv = await Inventory.open(db);
  try {
    return await scan({ targets, inventory: inv, full: extra.full, concurrency: 2, ...(extra.now ? { now: () => new Date(extra.now!) } : {}) });
  } finally {
    await inv.close();
  }
}

describe('inventory', () => {
  it('records scans, finds every copy of the same bytes, and counts copies into the scan', async () => {
    const w = workspace();
    const r1 = await scanWith(w.db, [w.tree]);
    const bundle = r1.artifacts.find((a) => a.uri.endsWith('/a/bundle.tar.gz'))!;
    expect(bundle.copies).toBe(2);
    const inv = await Inventory.open(w.db);
    const where = await inv.where(bundle.sha256!);
    expect(where.locations.map((l) => l.uri.split('/tree/')[1]).sort()).toEqual(['a/bundle.tar.gz', 'b/copy-of-bundle.tar.gz']);
    // A member's bytes are located too: the certificate inside both tarballs, by URI.
    const member = await inv.where(`${pathToFileURL(join(w.tree, 'a', 'bundle.tar.gz')).href}!/etc/pki/leaf.crt`);
    // …and inside the plain .gz of the same certificate: three locations of one digest.
    expect(member.locations).toHaveLength(3);
    expect((await inv.scans()).map((s) => s.id)).toEqual([r1.scan.id]);
    await inv.close();
  });

  it('records one artifact row per digest however many batches hold its locations, with the last class scoring gave', async () => {
    const w = workspace();
    const inv = await Inventory.open(w.db);
    const digest = 'ab'.repeat(32);
    const result = (id: string, classOf: (i: number) => string | undefined, finishedAt = '2026-06-01T00:01:00Z'): ScanResult => ({
      schemaVersion: '1',
      tool: { name: 'shelflife', version: 'test' },
      scan: {
        id,
        startedAt: '2026-06-01T00:00:00Z',
        finishedAt,
        targets: [w.tree],
        stats: { artifacts: 2100, bytes: 0, findings: 0, errors: 0 },
      },
      // 2,100 locations of the same bytes: three batches of the record; the class given to two of them only.
      artifacts: Array.from({ length: 2100 }, (_, i) => ({
        uri: `file:///copies/${String(i).padStart(4, '0')}.crt`,
        parent: null,
        sha256: digest,
        size: 10,
        findings: [],
        errors: [],
        ...(classOf(i) ? { class: classOf(i) } : {}),
      })),
    });
    await inv.recordScan(result('s1', (i) => (i === 0 ? 'first' : i === 1500 ? 'later' : undefined)));
    const row = () => inv.db.selectFrom('artifacts').selectAll().execute();
    expect(await row()).toMatchObject([{ sha256: digest, size: 10, class: 'later', first_seen: '2026-06-01T00:01:00Z' }]);
    expect((await inv.where(digest)).locations).toHaveLength(2100);
    // A later scan that gives no class keeps the one known.
    await inv.recordScan(result('s2', () => undefined, '2026-06-02T00:00:00Z'));
    expect(await row()).toMatchObject([{ class: 'later', first_seen: '2026-06-01T00:01:00Z', last_seen: '2026-06-02T00:00:00Z' }]);
    await inv.close();
  });

  it('rescans incrementally: unchanged artifacts are not read again, changed ones are', async () => {
    const w = workspace();
    const first = await scanWith(w.db, [w.tree]);
    expect(first.scan.stats.bytes).toBeGreaterThan(0);
    const second = await scanWith(w.db, [w.tree]);
    expect(second.scan.stats.bytes).toBe(0);
    expect(second.scan.stats.reused).toBe(first.artifacts.length);
    expect(second.artifacts.map((a) => a.findings.length)).toEqual(first.artifacts.map((a) => a.findings.length));
    // Change one file (new bytes, new mtime): only that one is read.
    copyFileSync(join(CORE, 'bundle.zip'), join(w.tree, 'a', 'leaf.crt.gz'));
    utimesSync(join(w.tree, 'a', 'leaf.crt.gz'), new Date(), new Date(Date.now() + 5000));
    const third = await scanWith(w.db, [w.tree]);
    expect(third.scan.stats.bytes).toBeGreaterThan(0);
    expect(third.scan.stats.bytes).toBeLessThan(first.scan.stats.bytes);
    // --full reads everything again.
    const full = await scanWith(w.db, [w.tree], { full: true });
    expect(full.scan.stats.reused ?? 0).toBe(0);
  });

  it('diffs two scans: new, resolved, disappeared', async () => {
    const w = workspace();
    const a = await scanWith(w.db, [w.tree]);
    rmSync(join(w.tree, 'a', 'leaf.crt.gz'));
    copyFileSync(join(CORE, 'bundle.zip'), join(w.tree, 'b', 'new.zip'));
    const b = await scanWith(w.db, [w.tree]);
    const inv = await Inventory.open(w.db);
    const d = await inv.diff(a.scan.id, b.scan.id);
    await inv.close();
    expect(d.disappearedArtifacts.some((u) => u.endsWith('/a/leaf.crt.gz'))).toBe(true);
    expect(d.newArtifacts.some((u) => u.endsWith('/b/new.zip'))).toBe(true);
    expect(d.newFindings.map((e) => e.finding.algorithm.id).sort()).toEqual(['ECDSA-P384', 'RSA-3072']);
    expect(d.resolvedFindings.map((e) => e.finding.algorithm.id)).toEqual(['RSA-3072']);
  });

  it('flags every copy of a retired artifact in later scans', async () => {
    const w = workspace();
    const r = await scanWith(w.db, [w.tree]);
    const digest = r.artifacts.find((x) => x.uri.endsWith('/a/bundle.tar.gz'))!.sha256!;
    const inv = await Inventory.open(w.db);
    expect(await inv.retire(digest, 'superseded by v2 firmware', '2026-11-28T00:00:00Z')).toBe(true);
    await expect(inv.retire('nothex', 'x', 'now')).rejects.toThrow(/not a sha256/);
    await inv.close();
    const again = await scanWith(w.db, [w.tree]);
    const flagged = again.artifacts.filter((x) => x.retired);
    expect(flagged.map((x) => x.uri.split('/tree/')[1]).sort()).toEqual(['a/bundle.tar.gz', 'b/copy-of-bundle.tar.gz']);
    expect(flagged[0].retired?.reason).toBe('superseded by v2 firmware');
  });

  it('opens a database written by an older schema version and migrates it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-mig-'));
    const file = join(dir, 'old.db');
    const old = new Kysely<InventoryTables>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    expect(await migrate(old, 1)).toBe(1);
    await old
      .insertInto('scans')
      .values({
        id: 'old-scan',
        started_at: '2025-01-01T00:00:00Z',
        finished_at: '2025-01-01T00:01:00Z',
        status: 'complete',
        targets: '["/x"]',
        tool_version: '0.0.1',
        rules_version: 'r1',
        stats: '{"artifacts":0,"bytes":0,"findings":0,"errors":0}',
      } as never)
      .execute();
    await old.destroy();
    const inv = await Inventory.open(file);
    expect(await inv.schemaVersion()).toBe(SCHEMA_VERSION);
    expect((await inv.scans()).map((s) => s.id)).toEqual(['old-scan']);
    await inv.close();
  });

  it('refuses a database from a newer shelflife instead of corrupting it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-mig-'));
    const file = join(dir, 'new.db');
    const db = new Database(file);
    db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('schema_version', '999');");
    db.close();
    await expect(Inventory.open(file)).rejects.toThrow(/newer than this shelflife understands/);
  });

  it('lets readers read while a scan writes (WAL), and survives a writer killed mid-transaction', async () => {
    const w = workspace();
    await scanWith(w.db, [w.tree]);
    // A writer in another process: opens a transaction, writes, and is killed before committing.
    const script = `
      const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))});
      const db = new Database(${JSON.stringify(w.db)});
      db.pragma('journal_mode = WAL');
      db.exec('BEGIN IMMEDIATE');
      const ins = db.prepare("INSERT INTO scans (id, started_at, status, targets, tool_version, rules_version) VALUES (?, 'x', 'running', '[]', 'x', 'x')");
      for (let i = 0; i < 50000; i++) ins.run('doomed-' + i);
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res) => child.stdout!.once('data', () => res()));
    // While the writer holds its transaction, a reader still sees the committed state.
    const reader = await Inventory.open(w.db);
    expect((await reader.scans()).length).toBe(1);
    child.kill('SIGKILL');
    await new Promise((res) => child.once('exit', res));
    expect((await reader.scans()).length).toBe(1);
    await reader.close();
    const check = new Database(w.db);
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(check.prepare("SELECT count(*) AS n FROM scans WHERE id LIKE 'doomed-%'").get()).toEqual({ n: 0 });
    check.close();
  });
});

describe('inventory CLI', () => {
  const BIN = join(import.meta.dirname, '..', '..', 'bin', 'shelflife.js');
  const run = (args: string[], db: string) =>
    spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, SHELFLIFE_DB: db }, timeout: 120_000 });

  it('scan records, where/diff/report/history read it back, diff exits 1 on new findings', () => {
    const w = workspace();
    expect(run(['scan', w.tree, '-o', join(w.dir, 's1.json'), '--quiet'], w.db).status).toBe(0);
    copyFileSync(join(CORE, 'bundle.zip'), join(w.tree, 'b', 'new.zip'));
    expect(run(['scan', w.tree, '-o', join(w.dir, 's2.json'), '--quiet'], w.db).status).toBe(0);
    const s2 = JSON.parse(readFileSync(join(w.dir, 's2.json'), 'utf8'));
    expect(s2.scan.stats.reused).toBeGreaterThan(0);
    const digest = s2.artifacts.find((a: { uri: string }) => a.uri.endsWith('/a/bundle.tar.gz')).sha256;
    const where = run(['where', digest], w.db);
    expect(where.status).toBe(0);
    expect(where.stdout).toContain('2 locations');
    const diff = run(['diff'], w.db);
    expect(diff.stdout, diff.stderr).toMatch(/^\+ .*ECDSA-P384.*new\.zip/m);
    expect(diff.status).toBe(1);
    expect(run(['diff', '--fail-on', 'critical'], w.db).status).toBe(0);
    const html = run(['report', '--format', 'html', '-o', join(w.dir, 'r.html')], w.db);
    expect(html.status, html.stderr).toBe(0);
    expect(readFileSync(join(w.dir, 'r.html'), 'utf8')).toContain('<polyline');
    const hist = run(['history'], w.db);
    expect(hist.stdout.trim().split('\n')).toHaveLength(2);
    expect(run(['scan', w.tree, '--no-db', '-o', join(w.dir, 's3.json'), '--quiet'], w.db).status).toBe(0);
    expect(run(['history'], w.db).stdout.trim().split('\n')).toHaveLength(2);
    writeFileSync(join(w.dir, 'unused'), '');
  });
});
