/** The same inventory code on a real PostgreSQL (shared inventories): record, copies, where, diff, migrations. */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import { SCHEMA_VERSION } from '../../src/inventory/schema.js';
import { scan } from '../../src/scan/scan.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { FIXTURES } from '../helpers/scan.js';

const { url, reason } = inject('postgres');

describe('inventory on PostgreSQL', () => {
  requirePrerequisiteForAll(!url && (reason ?? 'the PostgreSQL inventory tests: no server (test/setup/postgres.ts)'));
  it('records two scans from two "scanners", finds copies across them, and diffs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-pgtree-'));
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    copyFileSync(join(FIXTURES, 'core', 'bundle.tar.gz'), join(dir, 'a', 'x.tar.gz'));
    const one = await Inventory.open(url!);
    expect(await one.schemaVersion()).toBe(SCHEMA_VERSION);
    const s1 = await scan({ targets: [join(dir, 'a')], inventory: one });
    // A second scanner, its own connection, another store location holding the same bytes.
    copyFileSync(join(FIXTURES, 'core', 'bundle.tar.gz'), join(dir, 'b', 'y.tar.gz'));
    const two = await Inventory.open(url!);
    const s2 = await scan({ targets: [join(dir, 'b')], inventory: two });
    expect(s2.artifacts.find((a) => a.uri.endsWith('y.tar.gz'))?.copies).toBe(2);
    const where = await one.where(s1.artifacts.find((a) => a.uri.endsWith('x.tar.gz'))!.sha256!);
    expect(where.locations.map((l) => l.uri.split('/').pop()).sort()).toEqual(['x.tar.gz', 'y.tar.gz']);
    const d = await two.diff(s1.scan.id, s2.scan.id);
    expect(d.disappearedArtifacts.some((u) => u.endsWith('x.tar.gz'))).toBe(true);
    // Incremental on PostgreSQL too.
    const again = await scan({ targets: [join(dir, 'b')], inventory: two });
    expect(again.scan.stats.bytes).toBe(0);
    await one.close();
    await two.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
